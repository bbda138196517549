import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, TcpProxy } from '@orders/testing';
import { call, DEMO, newKey, orderBody, placeOrder, startTestApp, TestApp } from '../../../test/test-app';

/** Hostile input is the sending request's own 400, never a 500, and never another request's failure. */
let t: TestApp;
let base: string;

before(async () => {
  t = await startTestApp('recv_badinput', { BODY_LIMIT_BYTES: String(64 * 1024), EVENTS_TOKEN_TTL_SECONDS: '3' });
  base = t.base;
});

after(async () => {
  await t?.stop();
});

type Body = ReturnType<typeof orderBody> & { shippingAddress: Record<string, string> };
const FIELDS: Array<[string, (b: Body, v: string) => void]> = [
  ['customer.id', (b, v) => (b.customer.id = v)],
  ['customer.name', (b, v) => (b.customer.name = v)],
  ['shippingAddress.line1', (b, v) => (b.shippingAddress.line1 = v)],
  ['shippingAddress.line2', (b, v) => (b.shippingAddress.line2 = v)],
  ['shippingAddress.city', (b, v) => (b.shippingAddress.city = v)],
  ['shippingAddress.postalCode', (b, v) => (b.shippingAddress.postalCode = v)],
  ['shippingAddress.region', (b, v) => (b.shippingAddress.region = v)],
  ['couponCode', (b, v) => (b.couponCode = v)],
  ['payment.token', (b, v) => (b.payment.token = v)],
];
const BAD = { nul: 'Ada\u0000Lovelace', 'lone surrogate': 'Ada\ud800', 'low surrogate first': '\udc00Ada', tab: 'Ada\tL', del: 'Ada\u007f' };

test('a control character or an unpaired surrogate in any text field is 400 naming that field', async () => {
  for (const [field, set] of FIELDS) {
    for (const [what, value] of Object.entries(BAD)) {
      const body = orderBody() as Body;
      set(body, value);
      const r = await placeOrder(base, body);
      assert.equal(r.status, 400, `${field} with ${what}: ${JSON.stringify(r.body)}`);
      const details = r.body.details as Array<{ field: string }>;
      assert.ok(details.some((d) => d.field === field), `${field} with ${what}: ${JSON.stringify(details)}`);
    }
  }
  const ok = await placeOrder(base, { ...orderBody(), customer: { id: 'c', email: 'a@example.com', name: 'Zoë 😀 Ünïcode' } });
  assert.equal(ok.status, 202, 'ordinary non-ASCII text and paired surrogates (emoji) are fine');
});

test("one request's bad input does not fail the requests accepted in the same moment", async () => {
  const bad = orderBody() as Body;
  bad.customer.name = 'x\u0000';
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) => (i === 20 ? placeOrder(base, bad) : placeOrder(base, orderBody({ email: `c${i}@example.com` })))),
  );
  assert.deepEqual(results.map((r) => r.status), results.map((_, i) => (i === 20 ? 400 : 202)));
});

test('a crafted list cursor is 400, never 500', async () => {
  const cursors = [
    `2024-02-30T00:00:00Z|${randomUUID()}`,
    `2024-13-01T00:00:00Z|${randomUUID()}`,
    `2024-01-01T25:00:00Z|${randomUUID()}`,
    `2024-01-01T00:00:00Z|not-a-uuid`,
    `2024-01-01T00:00:00\u0000Z|${randomUUID()}`,
  ];
  for (const c of cursors) {
    const r = await call(base, 'GET', `/orders?cursor=${Buffer.from(c).toString('base64url')}`, { headers: DEMO });
    assert.equal(r.status, 400, `${JSON.stringify(c)}: ${JSON.stringify(r.body)}`);
  }
  const leap = await call(base, 'GET', `/orders?cursor=${Buffer.from(`2024-02-29T00:00:00.123456Z|${randomUUID()}`).toString('base64url')}`, { headers: DEMO });
  assert.equal(leap.status, 200, 'a real date (29 February of a leap year) is a valid cursor');
});

test('a body far over the limit is a 413 a still-sending fetch client can read', async () => {
  // Through a TCP hop (as behind any load balancer) a connection closed with unread bytes resets before the client reads.
  const proxy = new TcpProxy('127.0.0.1', Number(new URL(base).port));
  await proxy.start();
  after(() => proxy.stop());
  const via = `http://127.0.0.1:${proxy.port}`;
  const huge = JSON.stringify({ ...orderBody(), pad: 'x'.repeat(5 * 1024 * 1024) });
  for (let i = 0; i < 3; i++) {
    const r = await fetch(`${via}/orders`, {
      method: 'POST', body: huge, headers: { ...DEMO, 'idempotency-key': newKey(), 'content-type': 'application/json' },
    });
    assert.equal(r.status, 413);
    const body = (await r.json()) as { statusCode: number };
    assert.equal(body.statusCode, 413);
  }
  // a chunked upload (no Content-Length) over the limit too
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      const chunk = new TextEncoder().encode('x'.repeat(256 * 1024));
      c.enqueue(new TextEncoder().encode('{"pad":"'));
      for (let i = 0; i < 20; i++) c.enqueue(chunk);
      c.enqueue(new TextEncoder().encode('"}'));
      c.close();
    },
  });
  const chunked = await fetch(`${via}/orders`, {
    method: 'POST', body: stream, duplex: 'half', headers: { ...DEMO, 'idempotency-key': newKey(), 'content-type': 'application/json' },
  } as RequestInit);
  assert.equal(chunked.status, 413);
});

test('the events token of links.events expires (EVENTS_TOKEN_TTL_SECONDS): then it is 401', async () => {
  const placed = await placeOrder(base);
  const url = new URL(placed.body.links.events, base);
  const first = await fetch(url);
  assert.equal(first.status, 200, 'fresh token opens the stream');
  await first.body?.cancel();
  const expired = await eventually(async () => {
    const r = await fetch(url);
    if (r.status === 200) {
      await r.body?.cancel();
      return undefined;
    }
    return { status: r.status, body: (await r.json()) as { message: string } };
  }, 15000, 250, 'the token to expire');
  assert.equal(expired.status, 401);
  assert.match(String(expired.body.message), /expired/);
});
