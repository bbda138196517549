import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CANCEL_PRIORITY } from '@orders/contracts';
import { eventually } from '@orders/testing';
import { handled, placeOrder, Rig, startRig, statusOf } from '../../test/harness';

/** Fairness across tenants: one tenant's flood occupies at most TENANT_MAX_IN_FLIGHT slots; others start at once. */
let rig: Rig;

before(async () => {
  // One admission at a time makes the soft cap exact (concurrent admissions may overshoot it by PLACED_CONCURRENCY - 1).
  rig = await startRig('fair', { TENANT_MAX_IN_FLIGHT: '2', PLACED_CONCURRENCY: '1', ADMISSION_SWEEP_MS: '200' });
});

after(async () => {
  await rig?.stop();
});

const reserves = (tenantId: string) => rig.bus.messages('inventory.reserve.v1', (p) => p.tenantId === tenantId);

test('a flooding tenant waits its turn, another tenant does not wait behind it, and every waiting order completes', async () => {
  // Tenant "flood": 6 orders whose reservations inventory holds back for now.
  const flood: string[] = [];
  let last;
  for (let i = 0; i < 6; i++) {
    const orderId = randomUUID();
    rig.inventory.reserve.set(orderId, 'hold');
    flood.push(orderId);
    last = await placeOrder(rig.bus, { orderId, tenantId: 'flood' });
  }
  await handled(rig, last!.env, 'order-processing.placed'); // every placement handled, all it published on the bus
  assert.equal(reserves('flood').length, 2, 'only two of the flooding tenant are in flight');
  // the waiting ones put nothing in the status queues (their PENDING is announced when they leave it)
  const announced = new Set(rig.bus.messages('order.status-changed.v1', (p) => p.tenantId === 'flood').map((e) => e.payload.orderId));
  assert.equal(announced.size, 2, 'status events only for the two in flight');

  // Another tenant's order goes straight through.
  const small = await placeOrder(rig.bus, { tenantId: 'small' });
  await statusOf(rig.bus, small.orderId, 'CONFIRMED');

  // A waiting order can be cancelled before it ever started.
  const waiting = flood.find((id) => !reserves('flood').some((r) => r.payload.orderId === id))!;
  await rig.bus.publish('order.cancel-requested.v1', { orderId: waiting, tenantId: 'flood', requestedAt: new Date().toISOString() });
  const cancelled = await statusOf(rig.bus, waiting, 'CANCELLED');
  assert.equal(cancelled.payload.sequence, 2);

  // Let inventory answer from now on: as flood orders finish, the waiting ones start, oldest first, and all end.
  for (const id of flood) rig.inventory.reserve.delete(id);
  for (const r of reserves('flood')) await rig.inventory.reserved(r.payload.orderId, 'flood', r.payload.items);
  for (const id of flood.filter((x) => x !== waiting)) await statusOf(rig.bus, id, 'CONFIRMED', 15000);
  for (const id of flood) {
    const seen = rig.bus.messages('order.status-changed.v1', (p) => p.orderId === id).map((e) => [e.payload.status, e.payload.sequence]);
    assert.deepEqual(seen, id === waiting ? [['PENDING', 1], ['CANCELLED', 2]] : [['PENDING', 1], ['PROCESSING', 2], ['CONFIRMED', 3]], `status events of ${id}`);
  }
  const started = reserves('flood').map((r) => r.payload.orderId);
  assert.equal(started.length, 5);
  assert.ok(!started.includes(waiting));
  const firstTwo = started.slice(0, 2);
  // oldest first, up to concurrent finishes each admitting the next one (SKIP LOCKED): compare as sets
  assert.deepEqual([...started.slice(2)].sort(), flood.filter((x) => x !== waiting && !firstTwo.includes(x)).sort(), 'every waiting order starts');
});

test('an order left waiting while its tenant has room (a finish racing its admission) is started by the reconciler', async () => {
  const { DataSource } = await import('typeorm');
  const ds = rig.app.get(DataSource);
  const held: string[] = [];
  for (let i = 0; i < 2; i++) {
    const orderId = randomUUID();
    rig.inventory.reserve.set(orderId, 'hold');
    held.push(orderId);
    await placeOrder(rig.bus, { orderId, tenantId: 'race' });
  }
  await eventually(() => reserves('race').length === 2, 10000, 50, 'two started');
  const waiting = randomUUID();
  rig.inventory.reserve.set(waiting, 'hold');
  await placeOrder(rig.bus, { orderId: waiting, tenantId: 'race' });
  await eventually(async () => (await ds.query(`SELECT 1 FROM orders WHERE id = $1 AND status = 'PENDING'`, [waiting])).length === 1, 5000, 50, 'third waits');
  // The lost race, staged: an in-flight order ends without admitting the waiting one.
  await ds.query(`UPDATE orders SET status = 'CANCELLED' WHERE id = $1`, [held[0]]);
  await eventually(() => reserves('race').some((r) => r.payload.orderId === waiting), 5000, 50, 'reconciler started the waiting order');
});

test('a cancel queued for a waiting order is handled before a freed slot could start it: the order never reserves, the next one starts', async () => {
  const tenantId = 'queued-cancel';
  const admin = (path: string) => fetch(`${rig.base}${path}`, { method: 'POST', headers: { authorization: 'Bearer dev-admin-token' } });
  const placedConsumers = async () => {
    const text = await (await fetch(`${rig.base}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('orders_queue_consumers{queue="order-processing.placed"} '));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const inFlight = [randomUUID(), randomUUID()];
  const [waiting, next] = [randomUUID(), randomUUID()];
  for (const orderId of [...inFlight, next]) rig.inventory.reserve.set(orderId, 'hold');
  for (const orderId of inFlight) await placeOrder(rig.bus, { orderId, tenantId });
  await placeOrder(rig.bus, { orderId: waiting, tenantId });
  const { env: last } = await placeOrder(rig.bus, { orderId: next, tenantId });
  await handled(rig, last, 'order-processing.placed');
  assert.deepEqual(reserves(tenantId).map((r) => r.payload.orderId).sort(), [...inFlight].sort(), 'two in flight, two waiting');

  // The cancel for the oldest waiting order still sits in order-processing.placed (a restart's redeliveries, a
  // backlog) when one of the tenant's orders in flight ends and frees a slot.
  assert.equal((await admin('/queues/order-processing.placed/pause')).status, 200);
  try {
    await eventually(async () => (await placedConsumers()) === 0, 5000, 50, 'order-processing.placed paused');
    await rig.bus.publish('order.cancel-requested.v1', { orderId: waiting, tenantId, requestedAt: new Date().toISOString() }, { priority: CANCEL_PRIORITY });
    await rig.bus.publish('inventory.reservation-rejected.v1', { orderId: inFlight[0], tenantId, reason: 'out_of_stock', skus: ['SKU-A'] });
    await statusOf(rig.bus, inFlight[0], 'REJECTED');
  } finally {
    assert.equal((await admin('/queues/order-processing.placed/resume')).status, 200);
  }
  await statusOf(rig.bus, waiting, 'CANCELLED');
  await rig.bus.waitFor('inventory.reserve.v1', (p) => p.orderId === next); // the freed slot goes to the next waiting order
  const seen = rig.bus.messages('order.status-changed.v1', (p) => p.orderId === waiting).map((e) => e.payload.status);
  assert.deepEqual(seen, ['PENDING', 'CANCELLED'], 'the cancelled order never started');
  assert.equal(reserves(tenantId).filter((r) => r.payload.orderId === waiting).length, 0, 'nothing reserved for it');
});
