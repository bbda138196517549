import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, readSse } from '@orders/testing';
import { OrderEventsHub } from './order-events.hub';
import { call, DEMO, placeOrder, PRICED, startTestApp, statusEvent, TestApp } from '../../../test/test-app';

let t: TestApp;
let base: string;

before(async () => {
  t = await startTestApp('recv_events', { SSE_HEARTBEAT_MS: '200' });
  base = t.base;
});

after(async () => {
  await t?.stop();
});

test('a plain EventSource (token, no headers) gets PENDING..CONFIRMED with ids, summaries, and the stream closes', async () => {
  const placed = await placeOrder(base);
  const id = placed.body.id;
  const streaming = readSse(`${base}${placed.body.links.events}`, { timeoutMs: 10000 });
  await new Promise((r) => setTimeout(r, 300));
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING'));
  await new Promise((r) => setTimeout(r, 300)); // longer than a heartbeat: comments are not events
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 3, 'CONFIRMED', PRICED));
  const sse = await streaming;
  assert.equal(sse.status, 200);
  assert.match(sse.contentType ?? '', /^text\/event-stream/);
  assert.deepEqual(sse.events.map((e) => [e.id, e.event]), [['1', 'PENDING'], ['2', 'PROCESSING'], ['3', 'CONFIRMED']]);
  assert.equal(sse.closedByServer, true);
  const last = JSON.parse(sse.events[2].data);
  assert.equal(last.id, id);
  assert.equal(last.status, 'CONFIRMED');
  assert.deepEqual(last.totals, PRICED.totals);
  assert.equal(last.customer.email, 'ada@example.com');
});

test('events that arrive out of order are still streamed in sequence, none skipped', async () => {
  const placed = await placeOrder(base);
  const id = placed.body.id;
  const streaming = readSse(`${base}${placed.body.links.events}`, { timeoutMs: 10000 });
  await new Promise((r) => setTimeout(r, 300));
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 3, 'CONFIRMED', PRICED));
  await new Promise((r) => setTimeout(r, 300)); // the final event is stored first; the stream must wait for 2
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING'));
  const sse = await streaming;
  assert.deepEqual(sse.events.map((e) => [e.id, e.event]), [['1', 'PENDING'], ['2', 'PROCESSING'], ['3', 'CONFIRMED']]);
  assert.equal(sse.closedByServer, true);
});

test('resuming with Last-Event-ID (header or query) replays only what was missed; after the end it is 204', async () => {
  const placed = await placeOrder(base);
  const id = placed.body.id;
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING'));
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 3, 'REJECTED', { reason: 'out_of_stock' }));
  await t.bus.waitFor('order.placed.v1', (p) => p.orderId === id);
  const viaHeader = await readSse(`${base}/orders/${id}/events`, { headers: { ...DEMO, 'last-event-id': '1' }, timeoutMs: 10000, until: (e) => e.event === 'REJECTED' });
  assert.deepEqual(viaHeader.events.map((e) => e.id), ['2', '3']);
  assert.equal(JSON.parse(viaHeader.events[1].data).reason, 'out_of_stock');
  const viaQuery = await readSse(`${base}${placed.body.links.events}&lastEventId=2`, { timeoutMs: 10000 });
  assert.deepEqual(viaQuery.events.map((e) => e.event), ['REJECTED']);
  assert.equal(viaQuery.closedByServer, true);
  const done = await readSse(`${base}/orders/${id}/events`, { headers: { ...DEMO, 'last-event-id': '3' }, timeoutMs: 5000 });
  assert.equal(done.status, 204);
  const bad = await call(base, 'GET', `/orders/${id}/events`, { headers: { ...DEMO, 'last-event-id': 'abc' } });
  assert.equal(bad.status, 400);
});

test("a wrong token, another order's token or no credentials cannot open a stream", async () => {
  const a = await placeOrder(base);
  const b = await placeOrder(base);
  const tokenA = new URL(a.body.links.events, base).searchParams.get('token')!;
  assert.equal((await call(base, 'GET', `/orders/${b.body.id}/events?token=${tokenA}`)).status, 401);
  assert.equal((await call(base, 'GET', `/orders/${a.body.id}/events?token=${tokenA.slice(0, -2)}xx`)).status, 401);
  assert.equal((await call(base, 'GET', `/orders/${a.body.id}/events`)).status, 401);
  assert.equal((await call(base, 'GET', `/orders/${a.body.id}?token=${tokenA}`)).status, 401, 'the token opens the stream only');
});

test('Prefer: wait answers 200 with the full order when it becomes final in time', async () => {
  const key = `wait-${Date.now()}`;
  const started = Date.now();
  const pending = placeOrder(base, undefined, { prefer: 'wait=10' }, key);
  const placed = await t.bus.waitFor('order.placed.v1', (p) => p.customer.email === 'ada@example.com' && Date.parse(p.placedAt) >= started - 5);
  const id = placed.payload.orderId;
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 2, 'PROCESSING'));
  await t.bus.publish('order.status-changed.v1', statusEvent(id, 3, 'CONFIRMED', PRICED));
  const res = await pending;
  assert.equal(res.status, 200);
  assert.ok(Date.now() - started < 9000, 'answered as soon as final, not at the deadline');
  assert.equal(res.headers.get('preference-applied'), 'wait=10');
  assert.equal(res.headers.get('location'), `/orders/${id}`);
  assert.equal(res.body.status, 'CONFIRMED');
  assert.deepEqual(res.body.totals, PRICED.totals);
  assert.equal((res.body.history as unknown[]).length, 3);
});

test('Prefer: wait answers the usual 202 when the order is not final in time; N is clamped to 30', async () => {
  const started = Date.now();
  const res = await placeOrder(base, undefined, { prefer: 'wait=1' });
  assert.equal(res.status, 202);
  assert.ok(Date.now() - started >= 900);
  assert.equal(res.body.status, 'PENDING');
  assert.ok(res.body.links);
});

test('an idle stream sends heartbeat comments, and a client that goes away is unsubscribed', async () => {
  const placed = await placeOrder(base);
  const hub = t.app.get(OrderEventsHub);
  const ctl = new AbortController();
  const res = await fetch(`${base}${placed.body.links.events}`, { signal: ctl.signal });
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes(': heartbeat')) text += new TextDecoder().decode((await reader.read()).value);
  assert.match(text, /id: 1\nevent: PENDING\n/);
  assert.equal(hub.subscribers(placed.body.id), 1);
  ctl.abort();
  await eventually(() => hub.subscribers(placed.body.id) === 0, 5000, 20, 'subscriber removed');
});
