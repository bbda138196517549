import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Parser } from '@asyncapi/parser';
import { MESSAGES } from '@orders/contracts';
import { readSse } from '@orders/testing';
import { call, DEMO, placeOrder, startTestApp, TestApp } from '../../test/test-app';

const SHOP = 'http://shop.example:8080';
const OTHER = 'http://evil.example';
let t: TestApp;

before(async () => {
  t = await startTestApp('recv_cors', { CORS_ORIGINS: `${SHOP},https://other-shop.example` });
});

after(async () => {
  await t?.stop();
});

/** What a browser sends before a cross-origin POST with custom headers. */
function preflight(path: string, origin: string, method: string, headers: string) {
  return fetch(`${t.base}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
}

test('a preflight from a configured origin is answered 204 with the methods, headers and the origin', async () => {
  const res = await preflight('/orders', SHOP, 'POST', 'authorization,content-type,idempotency-key,prefer');
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), SHOP);
  assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
  const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
  for (const h of ['authorization', 'content-type', 'idempotency-key', 'prefer']) assert.ok(allowed.includes(h), h);
});

test('a preflight or a request from an origin not in CORS_ORIGINS gets no CORS headers (the browser blocks it)', async () => {
  const res = await preflight('/orders', OTHER, 'POST', 'authorization,content-type');
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), null);
  const get = await call(t.base, 'GET', '/orders', { headers: { ...DEMO, origin: OTHER } });
  assert.equal(get.status, 200);
  assert.equal(get.headers.get('access-control-allow-origin'), null);
});

test('a cross-origin POST from a configured origin exposes Location and the usual answer', async () => {
  const placed = await placeOrder(t.base, undefined, { origin: SHOP });
  assert.equal(placed.status, 202);
  assert.equal(placed.headers.get('access-control-allow-origin'), SHOP);
  assert.match(placed.headers.get('access-control-expose-headers') ?? '', /Location/);
  assert.match(placed.headers.get('vary') ?? '', /Origin/);
});

test('the event stream answers any origin, preflight (Last-Event-ID) included, and resumes from Last-Event-ID', async () => {
  const placed = await placeOrder(t.base);
  const path = placed.body.links.events.split('?')[0];
  const pre = await preflight(path, OTHER, 'GET', 'last-event-id');
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  assert.match((pre.headers.get('access-control-allow-headers') ?? '').toLowerCase(), /last-event-id/);
  const fresh = await readSse(`${t.base}${placed.body.links.events}`, { headers: { origin: OTHER }, until: (e) => e.event === 'PENDING', timeoutMs: 5000 });
  assert.equal(fresh.status, 200);
  assert.deepEqual(fresh.events.map((e) => e.event), ['PENDING']);
  const res = await fetch(`${t.base}${placed.body.links.events}`, { headers: { origin: OTHER, 'last-event-id': '1' }, signal: AbortSignal.timeout(5000) });
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  await res.body?.cancel();
});

test('/asyncapi.json is a valid AsyncAPI 3 document listing every message with a payload schema', async () => {
  const res = await fetch(`${t.base}/asyncapi.json`);
  assert.equal(res.status, 200);
  const { document, diagnostics } = await new Parser().parse(await res.text());
  const errors = diagnostics.filter((d) => d.severity === 0);
  assert.deepEqual(errors.map((d) => `${d.path.join('.')}: ${d.message}`), []);
  assert.ok(document);
  assert.equal(document.version(), '3.0.0');
  const names = document.messages().all().map((m) => m.name());
  assert.deepEqual([...names].sort(), Object.keys(MESSAGES).sort());
  for (const m of document.messages().all()) {
    const payload = m.payload();
    assert.ok(payload, `${m.name()} has a payload`);
    assert.equal(payload.type(), 'object', `${m.name()} payload is an object schema`);
    assert.ok(Object.keys(payload.properties() ?? {}).length > 0, `${m.name()} payload lists its fields`);
  }
  const placed = document.messages().all().find((m) => m.name() === 'order.placed.v1')!;
  assert.deepEqual([...(placed.payload()!.required() ?? [])].sort(), ['customer', 'items', 'orderId', 'payment', 'placedAt', 'shippingAddress', 'tenantId']);
  assert.equal(document.channels().all().length, Object.keys(MESSAGES).length);
});
