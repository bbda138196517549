import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@orders/testing';
import { ACME, call, placeOrder, PRICED, startTestApp, statusEvent, TestApp } from '../../../test/test-app';

/** The read model's two lanes: a flood's status events never hold up another tenant's. */
let t: TestApp;

before(async () => {
  t = await startTestApp('recv_lanes');
});

after(async () => {
  await t?.stop();
});

test("a quiet tenant's final status is stored while a flood's status events are still queued", async () => {
  const flooded = await placeOrder(t.base);
  const quiet = await placeOrder(t.base, undefined, ACME);
  // a flood's backlog: thousands of status events of bulk-lane orders, arriving faster than they are stored
  const backlog = Array.from({ length: 3000 }, (_, i) => statusEvent(flooded.body.id, 2 + (i % 2), 'PROCESSING', { lane: 'bulk' }));
  await t.bus.publishMany('order.status-changed.v1', backlog);
  await t.bus.publish('order.status-changed.v1', statusEvent(quiet.body.id, 2, 'CONFIRMED', PRICED, 'acme'));
  await eventually(async () => (await call<{ status: string }>(t.base, 'GET', `/orders/${quiet.body.id}`, { headers: ACME })).body.status === 'CONFIRMED', 10_000, 10, 'the quiet order confirmed');
  const left = await t.bus.queueDepth(`${t.cfg.MQ_PREFIX}.order-receiving.status-bulk`);
  assert.ok(left > 0, `the flood's backlog was still queued (${left} left) when the quiet order's status was stored`);
  await eventually(async () => (await t.bus.queueDepth(`${t.cfg.MQ_PREFIX}.order-receiving.status-bulk`)) === 0, 60_000, 100, 'the backlog drained');
});
