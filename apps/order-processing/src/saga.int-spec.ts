import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { MessageName } from '@orders/contracts';
import { Messaging, UnitOfWork } from '@orders/messaging';
import { eventually } from '@orders/testing';
import { OrderStore } from './orders/order-store';
import { cancel, handled, paymentIs, placeOrder, putPromotion, Rig, startRig, statusOf } from '../test/harness';

/** The saga against the real broker, database and gateway simulator, with the test playing inventory. */
let rig: Rig;

before(async () => {
  rig = await startRig('saga');
});

after(async () => {
  await rig?.stop();
});

const events = (orderId: string) => rig.bus.messages('order.status-changed.v1', (p) => p.orderId === orderId);
const sent = <N extends MessageName>(name: N, orderId: string) => rig.bus.messages(name, (p) => (p as { orderId: string }).orderId === orderId);
/** Payloads arrive as class instances; compare their plain JSON. */
const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

test('a confirmed order: PROCESSING then CONFIRMED (sequences 2, 3), priced, committed, authorized and captured once, in three messages', async () => {
  const { orderId } = await placeOrder(rig.bus, { items: [{ sku: 'SKU-A', quantity: 2 }, { sku: 'SKU-B', quantity: 1 }] });
  const confirmed = await statusOf(rig.bus, orderId, 'CONFIRMED');
  await rig.bus.waitFor('inventory.commit.v1', (p) => p.orderId === orderId);
  assert.deepEqual(events(orderId).map((e) => [e.payload.status, e.payload.sequence]), [['PENDING', 1], ['PROCESSING', 2], ['CONFIRMED', 3]]);
  assert.deepEqual(plain(sent('inventory.reserve.v1', orderId)[0].payload.items), [{ sku: 'SKU-A', quantity: 2 }, { sku: 'SKU-B', quantity: 1 }]);
  assert.equal(sent('inventory.commit.v1', orderId).length, 1);
  assert.equal(sent('inventory.release.v1', orderId).length, 0);

  const p = confirmed.payload;
  assert.deepEqual(plain(p.totals), { subtotalCents: 3490, discountCents: 0, totalCents: 3490, currency: 'EUR' });
  assert.deepEqual(plain(p.items), [
    { sku: 'SKU-A', quantity: 2, name: 'Alpha', unitPriceCents: 1250 },
    { sku: 'SKU-B', quantity: 1, name: 'Beta', unitPriceCents: 990 },
  ]);
  assert.equal(p.customer?.email, 'buyer@example.com');
  assert.equal(p.tenantId, 'demo');

  // the capture is a job of this service's own: no message crosses the broker for it
  const auths = await paymentIs(rig, orderId, 'captured');
  assert.equal(auths[0].amountCents, 3490);
  assert.equal(rig.sim.requests.filter((r) => r.path.includes(auths[0].id)).length, 1, 'one capture call');
});

test("an order placed in the bulk lane says so in every status event (the read model's lanes); a quiet one says nothing", async () => {
  const bulk = await placeOrder(rig.bus, { lane: 'bulk' });
  const quiet = await placeOrder(rig.bus);
  await statusOf(rig.bus, bulk.orderId, 'CONFIRMED');
  await statusOf(rig.bus, quiet.orderId, 'CONFIRMED');
  assert.deepEqual(events(bulk.orderId).filter((e) => e.payload.sequence > 1).map((e) => [e.payload.status, e.payload.lane]), [['PROCESSING', 'bulk'], ['CONFIRMED', 'bulk']]);
  assert.deepEqual(events(quiet.orderId).filter((e) => e.payload.sequence > 1).map((e) => e.payload.lane), [undefined, undefined]);
});

test('out of stock: REJECTED with the rejection reason, nothing authorized or released', async () => {
  const { orderId } = await placeOrderScripted({ reserve: { reject: 'out_of_stock' } });
  const rejected = await statusOf(rig.bus, orderId, 'REJECTED');
  assert.equal(rejected.payload.reason, 'out_of_stock');
  assert.equal(rejected.payload.sequence, 3);
  await handled(rig, await rig.bus.waitFor('inventory.reservation-rejected.v1', (p) => p.orderId === orderId), 'order-processing.saga');
  assert.equal(sent('inventory.release.v1', orderId).length, 0);
  assert.deepEqual(await rig.sim.authorizations(orderId), []);
});

test('unknown product: REJECTED unknown_product', async () => {
  const { orderId } = await placeOrderScripted({ reserve: { reject: 'unknown_product' } });
  assert.equal((await statusOf(rig.bus, orderId, 'REJECTED')).payload.reason, 'unknown_product');
});

test('a declined payment: REJECTED payment_declined, stock released, never committed', async () => {
  const { orderId } = await placeOrder(rig.bus, { token: 'tok_decline' });
  const rejected = await statusOf(rig.bus, orderId, 'REJECTED');
  assert.equal(rejected.payload.reason, 'payment_declined');
  assert.deepEqual(plain(rejected.payload.totals), { subtotalCents: 2500, discountCents: 0, totalCents: 2500, currency: 'EUR' });
  const release = await rig.bus.waitFor('inventory.release.v1', (p) => p.orderId === orderId);
  assert.equal(release.payload.tenantId, 'demo');
  assert.equal(sent('inventory.commit.v1', orderId).length, 0);
});

test('a token the gateway does not accept: REJECTED payment_invalid and stock released', async () => {
  const { orderId } = await placeOrder(rig.bus, { token: 'tok_bogus' });
  assert.equal((await statusOf(rig.bus, orderId, 'REJECTED')).payload.reason, 'payment_invalid');
  await rig.bus.waitFor('inventory.release.v1', (p) => p.orderId === orderId);
});

test('percent and fixed coupons change the totals and the amount authorized', async () => {
  assert.equal((await putPromotion(rig.base, 'TENOFF', { type: 'percent', value: 10 })).status, 201);
  assert.equal((await putPromotion(rig.base, 'FIVE', { type: 'fixed', value: 500, currency: 'EUR' })).status, 201);
  const pct = await placeOrder(rig.bus, { couponCode: 'TENOFF' });
  const fixed = await placeOrder(rig.bus, { couponCode: 'FIVE', items: [{ sku: 'SKU-B', quantity: 3 }] });
  const a = await statusOf(rig.bus, pct.orderId, 'CONFIRMED');
  const b = await statusOf(rig.bus, fixed.orderId, 'CONFIRMED');
  assert.deepEqual(plain(a.payload.totals), { subtotalCents: 2500, discountCents: 250, totalCents: 2250, currency: 'EUR' });
  assert.equal(a.payload.couponCode, 'TENOFF');
  assert.deepEqual(plain(b.payload.totals), { subtotalCents: 2970, discountCents: 500, totalCents: 2470, currency: 'EUR' });
  assert.equal((await rig.sim.authorizations(pct.orderId))[0].amountCents, 2250);
  assert.equal((await rig.sim.authorizations(fixed.orderId))[0].amountCents, 2470);
});

test('an invalid coupon (unknown, below minimum, expired, other currency): REJECTED invalid_coupon and stock released', async () => {
  await putPromotion(rig.base, 'BIGSPEND', { type: 'percent', value: 20, minSubtotalCents: 100000 });
  await putPromotion(rig.base, 'OLD', { type: 'percent', value: 20, startsAt: '2020-01-01T00:00:00Z', endsAt: '2021-01-01T00:00:00Z' });
  await putPromotion(rig.base, 'DOLLARS', { type: 'fixed', value: 100, currency: 'USD' });
  for (const code of ['NOSUCHCODE', 'BIGSPEND', 'OLD', 'DOLLARS']) {
    const { orderId } = await placeOrder(rig.bus, { couponCode: code });
    const rejected = await statusOf(rig.bus, orderId, 'REJECTED');
    assert.equal(rejected.payload.reason, 'invalid_coupon', code);
    await rig.bus.waitFor('inventory.release.v1', (p) => p.orderId === orderId);
    assert.deepEqual(await rig.sim.authorizations(orderId), [], `${code}: nothing authorized`);
  }
  const big = (await (await fetch(`${rig.base}/promotions/BIGSPEND`, { headers: { authorization: 'Bearer dev-admin-token' } })).json()) as { redemptions: number };
  assert.equal(big.redemptions, 0);
});

test('redelivered messages (same id) have no second effect', async () => {
  const { orderId, env } = await placeOrderScripted({ reserve: 'hold' });
  await rig.bus.waitFor('inventory.reserve.v1', (p) => p.orderId === orderId);
  await rig.bus.publish('order.placed.v1', env.payload, { id: env.id });
  const reserved = await rig.inventory.reserved(orderId, 'demo', env.payload.items);
  await rig.bus.publish('inventory.reserved.v1', reserved.payload, { id: reserved.id });
  await statusOf(rig.bus, orderId, 'CONFIRMED');
  await handled(rig, reserved, 'order-processing.saga');
  // another answer for the final order: it changes nothing
  await handled(rig, await rig.inventory.reserved(orderId, 'demo', env.payload.items), 'order-processing.saga');
  await paymentIs(rig, orderId, 'captured');
  assert.deepEqual(events(orderId).map((e) => e.payload.status), ['PENDING', 'PROCESSING', 'CONFIRMED']);
  for (const name of ['inventory.reserve.v1', 'inventory.commit.v1'] as const) assert.equal(sent(name, orderId).length, 1, name);
  assert.equal((await rig.sim.authorizations(orderId)).length, 1);
});

test('cancel while reserving: answered cancelled (was PROCESSING); the reservation that arrives afterwards is released, nothing authorized', async () => {
  const { orderId, env } = await placeOrderScripted({ reserve: 'hold' });
  await statusOf(rig.bus, orderId, 'PROCESSING');
  assert.deepEqual(await cancel(rig, orderId), { outcome: 'cancelled', status: 'PROCESSING' });
  const cancelled = await statusOf(rig.bus, orderId, 'CANCELLED');
  assert.equal(cancelled.payload.reason, 'cancelled_by_customer');
  assert.equal(cancelled.payload.sequence, 3);
  const late = await rig.inventory.reserved(orderId, 'demo', env.payload.items);
  await handled(rig, late, 'order-processing.saga');
  assert.ok(sent('inventory.release.v1', orderId).length >= 1, 'released');
  assert.deepEqual(await rig.sim.authorizations(orderId), []);
  assert.deepEqual(events(orderId).map((e) => e.payload.status), ['PENDING', 'PROCESSING', 'CANCELLED']);
});

test('cancel while the gateway authorizes: CANCELLED, stock released and the authorization voided', async () => {
  await rig.sim.control({ latencyMs: 800 });
  try {
    const asked = rig.sim.arrived.filter((r) => r.method === 'POST' && r.path === '/authorizations').length;
    const { orderId } = await placeOrder(rig.bus);
    await eventually(() => rig.sim.arrived.filter((r) => r.method === 'POST' && r.path === '/authorizations').length > asked, 10000, 5, 'the authorization in flight');
    assert.deepEqual(await cancel(rig, orderId), { outcome: 'cancelled', status: 'PROCESSING' });
    await statusOf(rig.bus, orderId, 'CANCELLED');
    await rig.bus.waitFor('inventory.release.v1', (p) => p.orderId === orderId);
    await paymentIs(rig, orderId, 'voided');
    assert.equal(sent('inventory.commit.v1', orderId).length, 0);
    assert.deepEqual(events(orderId).map((e) => e.payload.status), ['PENDING', 'PROCESSING', 'CANCELLED']);
  } finally {
    await rig.sim.control({ latencyMs: 0 });
  }
});

test('a cancel for a confirmed order is refused: it stays CONFIRMED and captured, and its history records the refused cancel', async () => {
  const { orderId } = await placeOrder(rig.bus);
  await statusOf(rig.bus, orderId, 'CONFIRMED');
  assert.deepEqual(await cancel(rig, orderId), { outcome: 'refused', status: 'CONFIRMED' });
  await eventually(() => events(orderId).length === 4, 5000, 20, 'refusal recorded');
  assert.deepEqual(events(orderId).map((e) => [e.payload.status, e.payload.reason, e.payload.sequence]), [
    ['PENDING', undefined, 1], ['PROCESSING', undefined, 2], ['CONFIRMED', undefined, 3], ['CONFIRMED', 'cancel_refused', 4],
  ]);
  assert.deepEqual((await rig.app.get(OrderStore).history(orderId)).map((h) => h.reason ?? null), [null, null, null, 'cancel_refused']);
  await paymentIs(rig, orderId, 'captured');
  assert.equal(sent('inventory.release.v1', orderId).length, 0);
});

test('a cancel for an order that already ended otherwise is answered final and changes nothing', async () => {
  const { orderId } = await placeOrderScripted({ reserve: { reject: 'out_of_stock' } });
  await statusOf(rig.bus, orderId, 'REJECTED');
  assert.deepEqual(await cancel(rig, orderId), { outcome: 'final', status: 'REJECTED' });
  await rig.app.get(Messaging).flush();
  await rig.bus.sync();
  assert.deepEqual(events(orderId).map((e) => e.payload.status), ['PENDING', 'PROCESSING', 'REJECTED']);
});

test('a hold about to expire is not counted on: FAILED reservation_expired, stock released, the authorization voided, nothing committed', async () => {
  const orderId = randomUUID();
  rig.inventory.reserve.set(orderId, { expiresInMs: 10_000 }); // under RESERVATION_CONFIRM_MARGIN_MS
  await placeOrder(rig.bus, { orderId });
  const failed = await statusOf(rig.bus, orderId, 'FAILED');
  assert.equal(failed.payload.reason, 'reservation_expired');
  await rig.bus.waitFor('inventory.release.v1', (p) => p.orderId === orderId);
  await paymentIs(rig, orderId, 'voided');
  assert.equal(sent('inventory.commit.v1', orderId).length, 0);
});

test('every transition is recorded in the history and published in sequence; an illegal one is refused, counted and never applied', async () => {
  const { orderId } = await placeOrderScripted({ reserve: { reject: 'out_of_stock' } });
  await statusOf(rig.bus, orderId, 'REJECTED');
  await rig.bus.sync(); // every event published before REJECTED is recorded too
  const store = rig.app.get(OrderStore);
  const history = await store.history(orderId);
  assert.deepEqual(history.map((h) => [h.sequence, h.status, h.reason]), [[1, 'PENDING', null], [2, 'PROCESSING', null], [3, 'REJECTED', 'out_of_stock']]);
  const published = events(orderId).map((e) => [e.payload.sequence, e.payload.status, e.payload.at]);
  assert.deepEqual(published, history.map((h) => [h.sequence, h.status, new Date(h.at).toISOString()]), 'each recorded move published once, same sequence and time');

  const refusedBefore = await refusedCount('REJECTED', 'CONFIRMED');
  for (const to of ['CONFIRMED', 'PROCESSING', 'PENDING'] as const) {
    const moved = await rig.app.get(UnitOfWork).transaction(async (tx) => store.transition(tx, (await store.lockInTransaction(tx, orderId))!, to));
    assert.deepEqual(moved, [], `REJECTED → ${to} refused`);
  }
  assert.equal(await refusedCount('REJECTED', 'CONFIRMED'), refusedBefore + 1);
  await rig.app.get(Messaging).flush(); // anything those transactions published is out
  await rig.bus.sync(); // and recorded
  assert.equal((await store.find(orderId))?.status, 'REJECTED');
  assert.equal((await store.history(orderId)).length, 3, 'nothing recorded');
  assert.equal(events(orderId).length, 3, 'nothing published');
});

async function refusedCount(from: string, to: string): Promise<number> {
  const text = await (await fetch(`${rig.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`order_transitions_refused_total{from="${from}",to="${to}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Places an order whose inventory answer follows a script (set before the order exists). */
async function placeOrderScripted(s: { reserve?: 'hold' | { reject: 'out_of_stock' | 'unknown_product' } }) {
  const orderId = randomUUID();
  if (s.reserve) rig.inventory.reserve.set(orderId, s.reserve);
  return placeOrder(rig.bus, { orderId });
}

test('ready once its database and the broker answer; metrics exposed', async () => {
  const res = await fetch(`${rig.base}/health/ready`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { details: Record<string, { status: string }> };
  assert.equal(body.details.database.status, 'up');
  assert.equal(body.details.broker.status, 'up');
  const metrics = await (await fetch(`${rig.base}/metrics`)).text();
  assert.match(metrics, /payment_gateway_breaker_open/);
});
