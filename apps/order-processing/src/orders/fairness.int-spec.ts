import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { cancel, handled, placeOrder, Rig, startRig, statusOf } from '../../test/harness';

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
  assert.deepEqual(await cancel(rig, waiting, 'flood'), { outcome: 'cancelled', status: 'PENDING' });
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

const admin = (path: string) => fetch(`${rig.base}${path}`, { method: 'POST', headers: { authorization: 'Bearer dev-admin-token' } });
const consumersOf = async (queue: string) => {
  const text = await (await fetch(`${rig.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`orders_queue_consumers{queue="${queue}"} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

/** Runs `fn` while `queue` has no consumer (a backlog that does not move, whatever the queue type), then resumes it. */
async function whilePaused(queue: string, fn: () => Promise<void>): Promise<void> {
  assert.equal((await admin(`/queues/${queue}/pause`)).status, 200);
  try {
    await eventually(async () => (await consumersOf(queue)) === 0, 5000, 50, `${queue} paused`);
    await fn();
  } finally {
    assert.equal((await admin(`/queues/${queue}/resume`)).status, 200);
  }
}

test('a cancel answered while its placement waits in a backlog wins, whatever the queue order: CANCELLED, never reserved', async () => {
  const orderId = randomUUID();
  await whilePaused('order-processing.placed', async () => {
    const { env } = await placeOrder(rig.bus, { orderId, tenantId: 'backlogged' });
    assert.ok(env);
    // the placement is still queued: the cancel is decided at once (its own queue) and remembered
    assert.deepEqual(await cancel(rig, orderId, 'backlogged'), { outcome: 'will_cancel', status: 'PENDING' });
  });
  await statusOf(rig.bus, orderId, 'CANCELLED');
  assert.equal(reserves('backlogged').length, 0, 'nothing reserved for it');
});

test('a cancel answered for a waiting order wins against a slot freed at the same moment: it never reserves, the next one starts', async () => {
  const tenantId = 'freed-slot';
  const inFlight = [randomUUID(), randomUUID()];
  const [waiting, next] = [randomUUID(), randomUUID()];
  // held too: were the waiting order started by the freed slot, it must not be confirmed before its cancel is decided
  for (const orderId of [...inFlight, waiting, next]) rig.inventory.reserve.set(orderId, 'hold');
  for (const orderId of inFlight) await placeOrder(rig.bus, { orderId, tenantId });
  await placeOrder(rig.bus, { orderId: waiting, tenantId });
  const { env: last } = await placeOrder(rig.bus, { orderId: next, tenantId });
  await handled(rig, last, 'order-processing.placed');
  assert.deepEqual(reserves(tenantId).map((r) => r.payload.orderId).sort(), [...inFlight].sort(), 'two in flight, two waiting');
  const [verdict] = await Promise.all([
    cancel(rig, waiting, tenantId),
    rig.bus.publish('inventory.reservation-rejected.v1', { orderId: inFlight[0], tenantId, reason: 'out_of_stock', skus: ['SKU-A'] }),
  ]);
  await statusOf(rig.bus, waiting, 'CANCELLED');
  await rig.bus.waitFor('inventory.reserve.v1', (p) => p.orderId === next); // the freed slot goes to the next waiting order
  const seen = rig.bus.messages('order.status-changed.v1', (p) => p.orderId === waiting).map((e) => e.payload.status);
  // the answer says what happened: PENDING means it never started
  if (verdict.status === 'PENDING') {
    assert.deepEqual(seen, ['PENDING', 'CANCELLED'], 'the cancelled order never started');
    assert.equal(reserves(tenantId).filter((r) => r.payload.orderId === waiting).length, 0, 'nothing reserved for it');
  } else {
    assert.deepEqual(verdict, { outcome: 'cancelled', status: 'PROCESSING' });
  }
});

test('a quiet tenant\'s new order is admitted while a flood\'s placements back up in the bulk lane (any queue type: no priorities)', async () => {
  const quiet = randomUUID();
  const bulk = randomUUID();
  await whilePaused('order-processing.placed-bulk', async () => {
    await rig.bus.publish('order.placed.v1', { ...(await placementOf(bulk, 'flooding')), lane: 'bulk' });
    await placeOrder(rig.bus, { orderId: quiet, tenantId: 'quiet' });
    await statusOf(rig.bus, quiet, 'CONFIRMED');
    assert.equal(rig.bus.messages('order.status-changed.v1', (p) => p.orderId === bulk).length, 0, 'the bulk lane has not moved');
  });
  await statusOf(rig.bus, bulk, 'CONFIRMED');
});

async function placementOf(orderId: string, tenantId: string) {
  return {
    orderId, tenantId, customer: { id: 'c-1', email: 'buyer@example.com', name: 'Buyer' }, items: [{ sku: 'SKU-A', quantity: 1 }],
    shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' }, payment: { token: 'tok_ok' }, placedAt: new Date().toISOString(),
  };
}
