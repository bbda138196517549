import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { cancel, handled, paymentIs, placeOrder, Rig, startRig, statusOf } from '../../test/harness';

/**
 * Every accepted order ends, and money and stock add up, off the designed
 * path: a cancel that overtakes its order's placement, a dead-lettered saga
 * step, an order stuck past ORDER_MAX_AGE_MS, amounts near 10^12, and an
 * authorization whose answer never arrived.
 */
let rig: Rig;
const MAX_AGE_MS = 4000;

before(async () => {
  rig = await startRig('ends', {
    ORDER_MAX_AGE_MS: String(MAX_AGE_MS),
    WATCHDOG_INTERVAL_MS: '200',
    PAYMENT_TIMEOUT_MS: '200',
    PAYMENT_RETRIES: '0',
    PAYMENT_WAIT_DELAYS_MS: '100,200',
    PAYMENT_MAX_WAIT_MS: '1000',
    PAYMENT_VOID_LOOKUP_MS: '3000',
    PAYMENT_SWEEP_MS: '200',
    BREAKER_VOLUME_THRESHOLD: '1000',
  });
});

after(async () => {
  await rig?.sim.control({ latencyMs: 0, outage: false, errorRate: 0 }).catch(() => undefined);
  await rig?.stop();
});

const sent = (name: 'inventory.reserve.v1' | 'inventory.release.v1' | 'inventory.commit.v1', orderId: string) =>
  rig.bus.messages(name, (p) => p.orderId === orderId);
const statuses = (orderId: string) => rig.bus.messages('order.status-changed.v1', (p) => p.orderId === orderId).map((e) => e.payload.status);

test('a cancel that arrives before its order.placed (a backlog of new orders) wins: answered will_cancel, then CANCELLED, nothing reserved or authorized', async () => {
  const orderId = randomUUID();
  // decided (and remembered) before the placement arrives
  assert.deepEqual(await cancel(rig, orderId), { outcome: 'will_cancel', status: 'PENDING' });
  assert.equal(await rig.bus.queueDepth(`${rig.cfg.MQ_PREFIX}.order-processing.cancels.dlq`), 0, 'the early cancel is not dead-lettered');
  const { env: placement } = await placeOrder(rig.bus, { orderId });
  const cancelled = await statusOf(rig.bus, orderId, 'CANCELLED');
  assert.equal(cancelled.payload.sequence, 2);
  assert.equal(cancelled.payload.reason, 'cancelled_by_customer');
  await handled(rig, placement, 'order-processing.placed');
  assert.deepEqual(statuses(orderId), ['PENDING', 'CANCELLED']);
  assert.equal(sent('inventory.reserve.v1', orderId).length, 0);
  assert.deepEqual(await rig.sim.authorizations(orderId), []);
});

test('a dead-lettered saga step fails its order (processing_error) with full compensation', async () => {
  const orderId = randomUUID();
  rig.inventory.reserve.set(orderId, 'hold');
  await placeOrder(rig.bus, { orderId });
  const reserve = await rig.bus.waitFor('inventory.reserve.v1', (p) => p.orderId === orderId);
  // inventory gives up on the reserve command: its transport announces the dead letter
  await rig.bus.publish('message.dead-lettered.v1', {
    messageId: reserve.id, name: 'inventory.reserve.v1', queue: 'inventory.commands', reason: 'Error: poisoned', orderId, tenantId: 'demo',
  });
  const failed = await statusOf(rig.bus, orderId, 'FAILED');
  assert.equal(failed.payload.reason, 'processing_error');
  await rig.bus.waitFor('inventory.release.v1', (p) => p.orderId === orderId);
  assert.deepEqual(await rig.sim.authorizations(orderId), [], 'it never reached the gateway');
});

test('a dead-lettered inventory answer (the gateway may have been called for it) fails the order and voids what the gateway authorized', async () => {
  const orderId = randomUUID();
  rig.inventory.reserve.set(orderId, 'hold');
  await placeOrder(rig.bus, { orderId });
  await rig.bus.waitFor('inventory.reserve.v1', (p) => p.orderId === orderId);
  // what a process that died mid-step leaves at the gateway: an authorization under the order's key, never recorded here
  const res = await fetch(`${rig.sim.url}/authorizations`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `${orderId}:authorize` },
    body: JSON.stringify({ orderId, amountCents: 2500, currency: 'EUR', token: 'tok_ok' }),
  });
  assert.equal(res.status, 201);
  await rig.bus.publish('message.dead-lettered.v1', {
    messageId: randomUUID(), name: 'inventory.reserved.v1', queue: 'order-processing.saga', reason: 'Error: poisoned', orderId, tenantId: 'demo',
  });
  assert.equal((await statusOf(rig.bus, orderId, 'FAILED')).payload.reason, 'processing_error');
  await rig.bus.waitFor('inventory.release.v1', (p) => p.orderId === orderId);
  await paymentIs(rig, orderId, 'voided');
});

test('the watchdog fails an order stuck past ORDER_MAX_AGE_MS, releasing what it holds', async () => {
  const orderId = randomUUID();
  rig.inventory.reserve.set(orderId, 'hold'); // inventory never answers
  const placed = Date.now();
  await placeOrder(rig.bus, { orderId });
  await rig.bus.waitFor('inventory.reserve.v1', (p) => p.orderId === orderId);
  const failed = await statusOf(rig.bus, orderId, 'FAILED', MAX_AGE_MS + 10000);
  assert.ok(Date.now() - placed >= MAX_AGE_MS - 500, 'not before its time');
  assert.equal(failed.payload.reason, 'processing_timeout');
  // inventory answers at last: the late reservation is given back
  const items = rig.bus.messages('inventory.reserve.v1', (p) => p.orderId === orderId)[0].payload.items;
  await rig.inventory.reserved(orderId, 'demo', items);
  await rig.bus.waitFor('inventory.release.v1', (p) => p.orderId === orderId);
});

test('amounts near 10^12 minor units are priced, authorized and captured exactly', async () => {
  const orderId = randomUUID();
  rig.inventory.reserve.set(orderId, 'hold');
  await placeOrder(rig.bus, { orderId, items: [{ sku: 'SKU-A', quantity: 1000 }] });
  await rig.bus.waitFor('inventory.reserve.v1', (p) => p.orderId === orderId);
  await rig.bus.publish('inventory.reserved.v1', {
    orderId, tenantId: 'demo', currency: 'EUR', expiresAt: new Date(Date.now() + 600_000).toISOString(),
    lines: [{ sku: 'SKU-A', quantity: 1000, name: 'Alpha', unitPriceCents: 999_999_999 }],
  });
  const confirmed = await statusOf(rig.bus, orderId, 'CONFIRMED');
  assert.equal(confirmed.payload.totals?.totalCents, 999_999_999_000);
  assert.equal((await paymentIs(rig, orderId, 'captured'))[0].amountCents, 999_999_999_000);
});

test('a gateway slower than the timeout throughout: the order fails, and the authorization it never heard of is found and voided', async () => {
  const orderId = randomUUID();
  await rig.sim.control({ latencyMs: 600 }); // every answer comes after PAYMENT_TIMEOUT_MS
  await placeOrder(rig.bus, { orderId });
  const failed = await statusOf(rig.bus, orderId, 'FAILED', 15000);
  assert.equal(failed.payload.reason, 'payment_unavailable');
  await rig.sim.control({ latencyMs: 0 });
  const auths = await eventually(async () => {
    const a = await rig.sim.authorizations(orderId);
    return a.length > 0 && a.every((x) => x.status === 'voided') ? a : undefined;
  }, 15000, 100, 'the unanswered authorization voided');
  assert.equal(auths.length, 1, 'one authorization for the one idempotency key');
  assert.equal(sent('inventory.commit.v1', orderId).length, 0);
});

test('a cancel handled at the same moment as its order.placed (two queues) is never lost, and every answer says what happened', async () => {
  const ids = Array.from({ length: 30 }, () => randomUUID());
  for (const id of ids) rig.inventory.reserve.set(id, 'hold'); // the order cannot finish any other way
  const answers = await Promise.all(ids.map(async (orderId) => (await Promise.all([placeOrder(rig.bus, { orderId }), cancel(rig, orderId)]))[1]));
  for (const id of ids) await statusOf(rig.bus, id, 'CANCELLED', MAX_AGE_MS - 1000);
  for (const a of answers) assert.ok(['cancelled', 'will_cancel'].includes(a.outcome), JSON.stringify(a));
});

test('a cancel sent after its order.placed wins although the saga queue is backed up: answered at once, CANCELLED, not the outcome waiting there', async () => {
  const orderId = randomUUID();
  rig.inventory.reserve.set(orderId, { reject: 'out_of_stock' }); // the saga's next message would end the order REJECTED
  const admin = (path: string) => fetch(`${rig.base}${path}`, { method: 'POST', headers: { authorization: 'Bearer dev-admin-token' } });
  assert.equal((await admin('/queues/order-processing.saga/pause')).status, 200); // a backlog: nothing in the saga queue moves
  const sagaConsumers = async () => {
    const text = await (await fetch(`${rig.base}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('orders_queue_consumers{queue="order-processing.saga"} '));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  await eventually(async () => (await sagaConsumers()) === 0, 5000, 50, 'the saga queue paused');
  try {
    await placeOrder(rig.bus, { orderId });
    await rig.bus.waitFor('inventory.reserve.v1', (p) => p.orderId === orderId);
    // the cancel does not wait behind the saga queue's backlog
    assert.deepEqual(await cancel(rig, orderId), { outcome: 'cancelled', status: 'PROCESSING' });
    const cancelled = await statusOf(rig.bus, orderId, 'CANCELLED');
    assert.equal(cancelled.payload.reason, 'cancelled_by_customer');
  } finally {
    assert.equal((await admin('/queues/order-processing.saga/resume')).status, 200);
  }
  // the reservation-rejected answer, handled after the resume, changes nothing
  await handled(rig, await rig.bus.waitFor('inventory.reservation-rejected.v1', (p) => p.orderId === orderId), 'order-processing.saga');
  assert.deepEqual(statuses(orderId), ['PENDING', 'PROCESSING', 'CANCELLED']);
});

test('an order whose own order.placed was dead-lettered still ends: recorded from the announcement, FAILED processing_error, holding nothing; a replay of the placement changes nothing', async () => {
  const orderId = randomUUID();
  const placedOrder = {
    orderId, tenantId: 'demo', customer: { id: 'c-1', email: 'buyer@example.com', name: 'Buyer' }, items: [{ sku: 'SKU-A', quantity: 2 }],
    shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' }, payment: { token: 'tok_ok' }, placedAt: new Date().toISOString(),
  };
  // what a service announces when it dead-letters an order.placed.v1 (libs/platform messages.ts)
  await rig.bus.publish('message.dead-lettered.v1', {
    messageId: randomUUID(), name: 'order.placed.v1', queue: 'order-processing.placed', reason: 'Error: poisoned', orderId, tenantId: 'demo', placedOrder,
  });
  const failed = await statusOf(rig.bus, orderId, 'FAILED');
  assert.equal(failed.payload.reason, 'processing_error');
  assert.deepEqual(failed.payload.items.map((i) => [i.sku, i.quantity]), [['SKU-A', 2]]);
  // an operator replays the dead-lettered placement
  const { env: replay } = await placeOrder(rig.bus, { orderId });
  await handled(rig, replay, 'order-processing.placed');
  assert.deepEqual(statuses(orderId), ['PENDING', 'FAILED']);
  assert.equal(sent('inventory.reserve.v1', orderId).length, 0);
});

test('a placement this version cannot read (a newer order.placed.v2) still ends its order: FAILED, holding nothing', async () => {
  const orderId = randomUUID();
  // an older instance dead-letters what it cannot read, and its announcement names the order from the raw body
  await rig.bus.publishRaw('order.placed.v1.quiet', Buffer.from(JSON.stringify({
    id: randomUUID(), name: 'order.placed.v2', occurredAt: new Date().toISOString(), payload: { orderId, tenantId: 'demo', anything: 'new' },
  })));
  const failed = await statusOf(rig.bus, orderId, 'FAILED');
  assert.equal(failed.payload.reason, 'processing_error');
  assert.equal(failed.payload.customer, undefined);
  assert.equal(sent('inventory.reserve.v1', orderId).length, 0);
});
