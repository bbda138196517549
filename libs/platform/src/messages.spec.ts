import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEnvelope, parseEnvelope } from '@orders/contracts';
import { announceDeadLetter } from './messages';

const placed = {
  orderId: '0b7f5b8e-4d7a-4c43-9a53-5a1c1e0b6f11', tenantId: 'demo', customer: { id: 'c-1', email: 'buyer@example.com', name: 'Buyer' },
  items: [{ sku: 'SKU-A', quantity: 2 }], shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
  payment: { token: 'tok_ok' }, placedAt: '2026-01-01T00:00:00.000Z',
};
const dead = (queue: string, env: ReturnType<typeof createEnvelope> | undefined, body: Buffer, reason = 'Error: poisoned') =>
  announceDeadLetter({ queue, envelope: env, body, name: env?.name ?? 'unknown', reason });
const valid = (payload: object) => parseEnvelope(Buffer.from(JSON.stringify(createEnvelope('message.dead-lettered.v1', payload as never))));

test('a dead-lettered order.placed.v1 is announced with the placement itself, valid on arrival, under an id derived from the message', () => {
  const env = createEnvelope('order.placed.v1', placed);
  const a = dead('order-processing.placed', env, Buffer.from(JSON.stringify(env)));
  assert.ok(a);
  const p = valid(a.payload).payload as { orderId: string; name: string; placedOrder?: unknown };
  assert.equal(p.orderId, placed.orderId);
  assert.equal(p.name, 'order.placed.v1');
  assert.deepEqual(JSON.parse(JSON.stringify(p.placedOrder)), placed);
  assert.equal(dead('order-processing.placed', env, Buffer.from(JSON.stringify(env)), 'again')?.id, a.id);
});

test('other dead letters are announced without a placement; an announcement is never announced', () => {
  const reserve = createEnvelope('inventory.reserve.v1', { orderId: placed.orderId, tenantId: 'demo', items: [{ sku: 'SKU-A', quantity: 2 }] });
  const a = dead('inventory.commands', reserve, Buffer.from(JSON.stringify(reserve)));
  assert.ok(a);
  assert.equal((a.payload as { placedOrder?: unknown }).placedOrder, undefined);
  const again = valid(a.payload);
  assert.equal(dead('order-processing.saga', again, Buffer.from(JSON.stringify(again))), undefined);
});

test('a message this version cannot read (a newer placement) is still announced with the order its body names', () => {
  const body = Buffer.from(JSON.stringify({ id: '5a0c1c8e-1d7a-4c43-9a53-5a1c1e0b6f22', name: 'order.placed.v2', occurredAt: '2026-01-01T00:00:00.000Z', payload: { ...placed, gift: true } }));
  const a = announceDeadLetter({ queue: 'order-processing.placed', body, name: 'order.placed.v2', reason: 'UnreadableMessage: unknown message name order.placed.v2' });
  assert.ok(a);
  const p = valid(a.payload).payload as { orderId: string; name: string; tenantId?: string; placedOrder?: unknown };
  assert.equal(p.orderId, placed.orderId);
  assert.equal(p.tenantId, 'demo');
  assert.equal(p.name, 'order.placed.v2');
  assert.equal(p.placedOrder, undefined);
  assert.equal(announceDeadLetter({ queue: 'q', body: Buffer.from('not json'), name: 'x', reason: 'r' }), undefined);
});
