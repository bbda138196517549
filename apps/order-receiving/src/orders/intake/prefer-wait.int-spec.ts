import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@orders/testing';
import { OrderEventsHub } from '../push/order-events.hub';
import { call, DEMO, newKey, orderBody, placeOrder, PRICED, startTestApp, statusEvent, TestApp } from '../../../test/test-app';

/**
 * The storefront retries POST /orders with the same Idempotency-Key (a lost
 * answer, a timeout, a 503): with `Prefer: wait=N` the retry answers as the
 * first request would have, 200 with the final order, not the stored 202.
 */
let t: TestApp;

before(async () => {
  t = await startTestApp('recv_prefer_wait');
});

after(async () => {
  await t?.stop();
});

async function finish(id: string): Promise<void> {
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING'));
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 3, 'CONFIRMED', PRICED));
}

test('a retry with Prefer: wait after the order became final answers 200 with the final order, at once', async () => {
  const key = newKey();
  const first = await placeOrder(t.base, orderBody(), {}, key);
  assert.equal(first.status, 202);
  const id = first.body.id;
  await finish(id);
  await eventually(async () => (await call(t.base, 'GET', `/orders/${id}`, { headers: DEMO })).body.status === 'CONFIRMED', 10000, 50, 'order confirmed');

  const started = Date.now();
  const retry = await placeOrder(t.base, orderBody(), { prefer: 'wait=10' }, key);
  assert.equal(retry.status, 200, JSON.stringify(retry.body));
  assert.ok(Date.now() - started < 5000, 'answered at once, not at the deadline');
  assert.equal(retry.headers.get('location'), `/orders/${id}`);
  assert.equal(retry.headers.get('preference-applied'), 'wait=10');
  assert.equal(retry.body.id, id);
  assert.equal(retry.body.status, 'CONFIRMED');
  assert.deepEqual(retry.body.totals, PRICED.totals);
  assert.deepEqual((retry.body.history as Array<{ status: string }>).map((h) => h.status), ['PENDING', 'PROCESSING', 'CONFIRMED']);

  const plain = await placeOrder(t.base, orderBody(), {}, key);
  assert.equal(plain.status, 202, 'without Prefer: wait the retry still replays the stored answer');
  assert.deepEqual(plain.body, first.body);
});

test('a retry with Prefer: wait before the order is final waits up to N for it: 200 once final, the stored 202 when N passes first', async () => {
  const key = newKey();
  const first = await placeOrder(t.base, orderBody(), {}, key);
  const id = first.body.id;

  const started = Date.now();
  const notYet = await placeOrder(t.base, orderBody(), { prefer: 'wait=1' }, key);
  assert.equal(notYet.status, 202);
  assert.ok(Date.now() - started >= 900, `waited for the order (${Date.now() - started} ms)`);
  assert.equal(notYet.headers.get('preference-applied'), 'wait=1');
  assert.deepEqual(notYet.body, first.body, 'the stored answer');

  const waiting = placeOrder(t.base, orderBody(), { prefer: 'wait=10' }, key);
  const hub = t.app.get(OrderEventsHub);
  await eventually(() => hub.subscribers(id) > 0, 5000, 20, 'the retry waiting for the order');
  await finish(id);
  const res = await waiting;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.status, 'CONFIRMED');
  assert.equal(res.body.id, id);
  assert.equal(hub.subscribers(id), 0, 'nothing left subscribed');
});
