import { after, before, test } from 'node:test';
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import type { CancelVerdict } from '@orders/contracts';
import { eventually, handledCount } from '@orders/testing';
import { ACME, call, DEMO, orderBody, placeOrder, PRICED, startTestApp, statusEvent, TestApp } from '../../../test/test-app';

let t: TestApp;
let base: string;

before(async () => {
  t = await startTestApp('recv_read');
  base = t.base;
});

after(async () => {
  await t?.stop();
});

type Order = {
  status: string; items: Array<Record<string, unknown>>; totals: unknown; rejectionReason?: string; couponCode: string | null;
  history: Array<{ status: string; at: string; reason?: string }>; updatedAt: string;
};
const getOrder = (id: string, headers = DEMO) => call<Order>(base, 'GET', `/orders/${id}`, { headers });

async function untilHistory(id: string, n: number): Promise<Order> {
  return eventually(async () => {
    const o = (await getOrder(id)).body;
    return o.history.length >= n ? o : undefined;
  }, 10000, 30, `${n} history entries`);
}

test('status events update the order in order: items priced, totals, history, rejection reason', async () => {
  const { body: { id } } = await placeOrder(base);
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING'));
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 3, 'REJECTED', { ...PRICED, reason: 'payment_declined' }));
  const o = await untilHistory(id, 3);
  assert.equal(o.status, 'REJECTED');
  assert.equal(o.rejectionReason, 'payment_declined');
  assert.deepEqual(o.items, PRICED.items);
  assert.deepEqual(o.totals, PRICED.totals);
  assert.equal(o.couponCode, 'SPRING10');
  assert.deepEqual(o.history.map((h) => [h.status, h.reason]), [['PENDING', undefined], ['PROCESSING', undefined], ['REJECTED', 'payment_declined']]);
  assert.equal(o.history[2].at, statusEvent(id, 3, 'REJECTED').at);
  assert.equal(o.updatedAt, statusEvent(id, 3, 'REJECTED').at);
});

// Guards: an order whose PROCESSING event was never sent (STATUS_COALESCE_MS) missing that entry in its history and event stream.
test('a final event carrying earlier statuses adds their history entries (PENDING stays intake\'s), once', async () => {
  const { body: { id } } = await placeOrder(base);
  const at = new Date(Date.now() - 50).toISOString();
  const final = statusEvent(id, 3, 'CONFIRMED', {
    ...PRICED,
    earlier: [
      { eventId: randomUUID(), status: 'PENDING', sequence: 1, at },
      { eventId: randomUUID(), status: 'PROCESSING', sequence: 2, at },
    ],
  });
  const env = await t.bus.publish('order.status-changed.v1', final);
  const o = await untilHistory(id, 3);
  assert.equal(o.status, 'CONFIRMED');
  assert.deepEqual(o.history.map((h) => h.status), ['PENDING', 'PROCESSING', 'CONFIRMED']);
  assert.equal(o.history[1].at, at);
  const handled = await handledCount('order-receiving.status', 'order.status-changed.v1');
  await t.bus.publish('order.status-changed.v1', final, { id: env.id }); // redelivered
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING')); // the taken-back event sent after all
  await eventually(async () => (await handledCount('order-receiving.status', 'order.status-changed.v1')) >= handled + 2, 10000, 20, 'both handled');
  const again = (await getOrder(id)).body;
  assert.deepEqual(again.history.map((h) => h.status), ['PENDING', 'PROCESSING', 'CONFIRMED'], 'no entry twice');
});

test('a stale event (older sequence) lands in history but never rolls the state back', async () => {
  const { body: { id } } = await placeOrder(base);
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 3, 'CONFIRMED', PRICED));
  await untilHistory(id, 2);
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING', { items: [{ sku: 'SKU-1', quantity: 2 }] }));
  const o = await untilHistory(id, 3);
  assert.equal(o.status, 'CONFIRMED');
  assert.deepEqual(o.items, PRICED.items);
  assert.deepEqual(o.totals, PRICED.totals);
  assert.deepEqual(o.history.map((h) => h.status), ['PENDING', 'PROCESSING', 'CONFIRMED']);
});

test('a redelivered event (same id) or a repeated sequence adds no second history entry', async () => {
  const { body: { id } } = await placeOrder(base);
  const env = await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING'));
  await untilHistory(id, 2);
  const acked = () => handledCount('order-receiving.status', 'order.status-changed.v1');
  const ackedBefore = await acked();
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING'), { id: env.id });
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING')); // new message id, same change
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 3, 'CANCELLED', { reason: 'customer_request' }));
  const o = await untilHistory(id, 3);
  await eventually(async () => (await acked()) >= ackedBefore + 3, 10000, 20, 'all three deliveries acknowledged');
  const again = (await getOrder(id)).body;
  assert.deepEqual(again.history.map((h) => h.status), ['PENDING', 'PROCESSING', 'CANCELLED']);
  assert.equal(o.status, 'CANCELLED');
  assert.equal(o.rejectionReason, undefined);
});

test("another tenant's order is 404 everywhere; a malformed id is 404 too", async () => {
  const { body: { id } } = await placeOrder(base);
  assert.equal((await getOrder(id, ACME)).status, 404);
  assert.equal((await call(base, 'POST', `/orders/${id}/cancel`, { headers: ACME })).status, 404);
  assert.equal((await call(base, 'GET', `/orders/${id}/events`, { headers: ACME })).status, 404);
  const list = await call<{ items: Array<{ id: string }> }>(base, 'GET', '/orders?limit=100', { headers: ACME });
  assert.ok(!list.body.items.some((o) => o.id === id));
  const bad = await getOrder('not-a-uuid');
  assert.equal(bad.status, 404);
  assert.equal((bad.body as unknown as { statusCode: number }).statusCode, 404);
});

test('cancel: answered with order-processing\'s decision, never the read model\'s (which lags): 202 with what will happen, 409 once final', async () => {
  const verdicts = new Map<string, CancelVerdict>();
  const stop = await t.bus.respond('order-processing.cancels', (env) => verdicts.get((env.payload as { orderId: string }).orderId));
  try {
    // the read model still says PENDING, but processing has started the order: the answer says so
    const { body: { id } } = await placeOrder(base);
    verdicts.set(id, { outcome: 'cancelled', status: 'PROCESSING' });
    const res = await call(base, 'POST', `/orders/${id}/cancel`, { headers: DEMO });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { id, status: 'PROCESSING', cancellationRequested: true, outcome: 'cancelled' });
    const msg = await t.bus.waitFor('order.cancel-requested.v1', (p) => p.orderId === id);
    assert.equal(msg.payload.tenantId, 'demo');
    // its placement has not reached processing: it will end CANCELLED when it does
    const { body: { id: early } } = await placeOrder(base);
    verdicts.set(early, { outcome: 'will_cancel', status: 'PENDING' });
    assert.deepEqual((await call(base, 'POST', `/orders/${early}/cancel`, { headers: DEMO })).body, { id: early, status: 'PENDING', cancellationRequested: true, outcome: 'will_cancel' });
    // confirmed first: refused, whatever the read model said
    const { body: { id: confirmed } } = await placeOrder(base);
    verdicts.set(confirmed, { outcome: 'refused', status: 'CONFIRMED' });
    const refused = await call(base, 'POST', `/orders/${confirmed}/cancel`, { headers: DEMO });
    assert.equal(refused.status, 409);
    assert.match(String(refused.body.message), /confirmed before the cancel/);
    // no decision in time (processing backed up or down): 503 with Retry-After, never a promise
    const { body: { id: undecided } } = await placeOrder(base);
    const silent = await call(base, 'POST', `/orders/${undecided}/cancel`, { headers: DEMO });
    assert.equal(silent.status, 503);
    assert.equal(silent.headers.get('retry-after'), '2');
  } finally {
    await stop();
  }
  const { body: { id } } = await placeOrder(base);
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'CANCELLED'));
  await untilHistory(id, 2);
  const late = await call(base, 'POST', `/orders/${id}/cancel`, { headers: DEMO });
  assert.equal(late.status, 409);
});

test('listing: newest first, stable cursor pages, status filter, bad parameters 400', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await placeOrder(base, orderBody(), ACME)).body.id);
  await t.bus.publish('order.status-changed.v1', statusEvent(ids[1], 2, 'PROCESSING', {}, 'acme'));
  await eventually(async () => (await getOrder(ids[1], ACME)).body.status === 'PROCESSING', 10000, 30, 'processing');

  type Page = { items: Array<{ id: string; status: string; customer: unknown; totals: unknown; createdAt: string }>; nextCursor: string | null };
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
    const page: { status: number; body: Page } = await call<Page>(base, 'GET', `/orders${q}`, { headers: ACME });
    assert.equal(page.status, 200);
    assert.ok(page.body.items.length <= 2);
    seen.push(...page.body.items.map((o) => o.id));
    cursor = page.body.nextCursor;
    pages++;
  } while (cursor && pages < 10);
  assert.deepEqual(seen.filter((id) => ids.includes(id)), [...ids].reverse());
  assert.equal(new Set(seen).size, seen.length);

  const first = (await call<Page>(base, 'GET', '/orders?limit=1', { headers: ACME })).body.items[0];
  assert.deepEqual(Object.keys(first).sort(), ['createdAt', 'customer', 'id', 'status', 'totals']);

  const processing = await call<Page>(base, 'GET', '/orders?status=PROCESSING', { headers: ACME });
  assert.deepEqual(processing.body.items.map((o) => o.id), [ids[1]]);

  for (const q of ['status=SHIPPED', 'limit=0', 'limit=101', 'limit=abc', 'cursor=%21%21', `cursor=${Buffer.from('x|y').toString('base64url')}`, 'foo=1']) {
    const r = await call(base, 'GET', `/orders?${q}`, { headers: ACME });
    assert.equal(r.status, 400, q);
  }
});

test('a status event for an order this service never accepted is dead-lettered, not retried forever', async () => {
  const dlq = `${t.cfg.MQ_PREFIX}.order-receiving.status.dlq`;
  const before = await t.bus.queueDepth(dlq);
  await t.bus.publish('order.status-changed.v1', statusEvent('0b7f5b8e-4d7a-4c43-9a53-5a1c1e0b6f11', 2, 'PROCESSING'));
  await eventually(async () => (await t.bus.queueDepth(dlq)) === before + 1, 10000, 50, 'dead-lettered');
});

test('a backlog of PENDING events (a flood placed elsewhere) is acknowledged without touching the read model: nothing dead-lettered, the next status applies', async () => {
  const { body: { id } } = await placeOrder(base);
  const dlq = `${t.cfg.MQ_PREFIX}.order-receiving.status.dlq`;
  const before = await t.bus.queueDepth(dlq);
  // order-processing announces PENDING (sequence 1) for every order it takes; intake wrote that entry already,
  // so these are not even looked up: not those of this order, nor of orders this read model does not hold
  await Promise.all(Array.from({ length: 200 }, () => t.bus.publish('order.status-changed.v1', statusEvent(randomUUID(), 1, 'PENDING'))));
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 1, 'PENDING', { at: new Date(Date.UTC(2020, 0, 1)).toISOString() }));
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING'));
  const o = await untilHistory(id, 2);
  assert.deepEqual(o.history.map((h) => h.status), ['PENDING', 'PROCESSING']);
  assert.notEqual(o.history[0].at, new Date(Date.UTC(2020, 0, 1)).toISOString(), 'the PENDING entry is the one intake wrote');
  // worked off: the queue and its retry tiers stay empty for a few probes (a retried event would reappear in them)
  const queues = [`${t.cfg.MQ_PREFIX}.order-receiving.status`, ...t.cfg.retryDelaysMs.map((d) => `${t.cfg.MQ_PREFIX}.order-receiving.status.retry.${d}ms`)];
  let quiet = 0;
  await eventually(async () => {
    const depth = (await Promise.all(queues.map((q) => t.bus.queueDepth(q)))).reduce((a, b) => a + b, 0);
    quiet = depth === 0 ? quiet + 1 : 0;
    return quiet >= 5;
  }, 10000, 100, 'the backlog worked off');
  assert.equal(await t.bus.queueDepth(dlq), before, 'no PENDING event dead-lettered');
});
