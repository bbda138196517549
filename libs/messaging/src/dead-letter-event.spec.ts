import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEnvelope, parseEnvelope } from '@orders/contracts';
import { deadLetterEvent } from './dead-letter-event';

const placed = {
  orderId: '0b7f5b8e-4d7a-4c43-9a53-5a1c1e0b6f11', tenantId: 'demo', customer: { id: 'c-1', email: 'buyer@example.com', name: 'Buyer' },
  items: [{ sku: 'SKU-A', quantity: 2 }], shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
  payment: { token: 'tok_ok' }, placedAt: '2026-01-01T00:00:00.000Z',
};

test('a dead-lettered order.placed.v1 is announced with the placement itself, valid on arrival, under an id derived from the message', () => {
  const env = createEnvelope('order.placed.v1', placed);
  const a = deadLetterEvent('order-processing.placed', env, 'Error: poisoned');
  assert.ok(a);
  const announced = parseEnvelope(Buffer.from(a.raw));
  assert.equal(announced.name, 'message.dead-lettered.v1');
  const p = announced.payload as { orderId: string; name: string; placedOrder?: unknown };
  assert.equal(p.orderId, placed.orderId);
  assert.equal(p.name, 'order.placed.v1');
  assert.deepEqual(JSON.parse(JSON.stringify(p.placedOrder)), placed);
  assert.equal(deadLetterEvent('order-processing.placed', env, 'again')?.id, a.id);
});

test('other dead letters are announced without a placement; an announcement is never announced', () => {
  const reserve = createEnvelope('inventory.reserve.v1', { orderId: placed.orderId, tenantId: 'demo', items: [{ sku: 'SKU-A', quantity: 2 }] });
  const a = deadLetterEvent('inventory.commands', reserve, 'Error: x');
  assert.ok(a);
  assert.equal((parseEnvelope(Buffer.from(a.raw)).payload as { placedOrder?: unknown }).placedOrder, undefined);
  const again = parseEnvelope(Buffer.from(a.raw));
  assert.equal(deadLetterEvent('order-processing.saga', again, 'Error: y'), undefined);
});
