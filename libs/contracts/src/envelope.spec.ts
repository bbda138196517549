import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEnvelope, InvalidMessageError, parseEnvelope } from './envelope';
import { InventoryReserveV1 } from './messages/inventory-reserve.v1';
import { MESSAGES, QUEUES, routingKeyOf } from './registry';

const orderId = '0b7f5b8e-4d7a-4c43-9a53-5a1c1e0b6f11';

test('a valid envelope round-trips and arrives as its payload class', () => {
  const env = createEnvelope('inventory.reserve.v1', { orderId, tenantId: 't1', items: [{ sku: 'SKU-1', quantity: 2 }] });
  const parsed = parseEnvelope(Buffer.from(JSON.stringify(env)));
  assert.equal(parsed.id, env.id);
  assert.equal(parsed.name, 'inventory.reserve.v1');
  assert.ok(parsed.payload instanceof InventoryReserveV1);
  assert.deepEqual({ ...(parsed.payload as InventoryReserveV1).items[0] }, { sku: 'SKU-1', quantity: 2 });
});

test('unknown payload fields are stripped, not rejected', () => {
  const env = createEnvelope('inventory.commit.v1', { orderId, tenantId: 't1' });
  const parsed = parseEnvelope(JSON.stringify({ ...env, payload: { ...env.payload, extra: 1 } }));
  assert.equal((parsed.payload as unknown as Record<string, unknown>).extra, undefined);
});

test('malformed bodies and invalid payloads are refused with the reason', () => {
  assert.throws(() => parseEnvelope('not json'), InvalidMessageError);
  assert.throws(() => parseEnvelope(JSON.stringify({ id: 'x', name: 'inventory.commit.v1' })), /UUID/);
  const env = createEnvelope('inventory.reserve.v1', { orderId, tenantId: 't1', items: [{ sku: 'SKU-1', quantity: 0 }] });
  assert.throws(() => parseEnvelope(JSON.stringify(env)), /items\.0\.quantity/);
  assert.throws(() => parseEnvelope(JSON.stringify({ ...env, name: 'nope.v1' })), /unknown message name/);
});

test('every message name has a consumer queue and every routed name exists; every routing key it is published with reaches its queues', () => {
  const routed = new Set<string>(Object.values(QUEUES).flat().map((b) => (typeof b === 'string' ? b : b.message)));
  for (const name of Object.keys(MESSAGES)) assert.ok(routed.has(name), `${name} has no queue`);
  for (const name of routed) assert.ok(name in MESSAGES, `${name} is bound but not a message`);
  assert.equal(routingKeyOf('order.placed.v1', { lane: 'bulk' }), 'order.placed.v1.bulk');
  assert.equal(routingKeyOf('order.placed.v1', {}), 'order.placed.v1.quiet');
  assert.match(routingKeyOf('order.status-changed.v1', { status: 'CONFIRMED', tenantId: 'a.b' }), /^order\.status-changed\.v1\.CONFIRMED\.[0-9a-f]{16}\.quiet$/);
  assert.match(routingKeyOf('order.status-changed.v1', { status: 'CONFIRMED', tenantId: 'a.b', lane: 'bulk' }), /^order\.status-changed\.v1\.CONFIRMED\.[0-9a-f]{16}\.bulk$/);
  assert.equal(routingKeyOf('inventory.reserve.v1', {}), 'inventory.reserve.v1');
});

test("status events reach the read model in their lane, email in any lane, and the previous version's keys still arrive", () => {
  // AMQP topic matching: `*` one word, `#` zero or more
  const matches = (pattern: string, key: string): boolean => {
    const p = pattern.split('.');
    const k = key.split('.');
    const m = (i: number, j: number): boolean =>
      i === p.length ? j === k.length : p[i] === '#' ? m(i + 1, j) || (j < k.length && m(i, j + 1)) : j < k.length && (p[i] === '*' || p[i] === k[j]) && m(i + 1, j + 1);
    return m(0, 0);
  };
  const receiving = (key: string) => Object.entries(QUEUES)
    .filter(([, bindings]) => bindings.some((b) => typeof b !== 'string' && b.message === 'order.status-changed.v1' && b.route !== null && matches(`${b.message}.${b.route}`, key)))
    .map(([q]) => q).sort();
  const key = (status: string, lane?: 'bulk' | 'quiet') => routingKeyOf('order.status-changed.v1', { status, tenantId: 'acme', ...(lane ? { lane } : {}) });
  assert.deepEqual(receiving(key('CONFIRMED')), ['notification.email', 'order-receiving.status']);
  assert.deepEqual(receiving(key('CONFIRMED', 'bulk')), ['notification.email', 'order-receiving.status-bulk']);
  assert.deepEqual(receiving(key('PROCESSING', 'bulk')), ['order-receiving.status-bulk']);
  assert.deepEqual(receiving(key('PENDING')), [], 'PENDING: written by intake, routed nowhere');
  const previous = key('CANCELLED').replace(/\.quiet$/, ''); // published by the previous version during an upgrade
  assert.deepEqual(receiving(previous), ['notification.email', 'order-receiving.status']);
});
