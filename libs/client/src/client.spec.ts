import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CreateOrderDto } from '@orders/dto';
import { OrdersClient } from './client';
import { OrdersApiError } from './errors';
import { parseEventStream } from './sse';

const ORDER = {
  customer: { id: 'c1', email: 'ada@example.com' },
  items: [{ sku: 'SKU-1', quantity: 1 }],
  shippingAddress: { line1: '1 Way', city: 'London', postalCode: 'N1', country: 'GB' },
  payment: { token: 'tok_ok' },
} as CreateOrderDto;

/** A fetch that answers from a script and records what it was asked. */
function scripted(answers: Array<() => Response>) {
  const seen: Array<{ url: string; headers: Record<string, string> }> = [];
  const impl = (async (url: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(url), headers: { ...(init?.headers as Record<string, string>) } });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  }) as typeof fetch;
  return { impl, seen };
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const accepted = { id: 'o1', status: 'PENDING', links: { self: '/orders/o1', events: '/orders/o1/events?token=t' } };

test('placeOrder retries a network error, 409, 429 and 503 with the same Idempotency-Key, then returns the 202', async () => {
  const f = scripted([
    () => { throw new TypeError('fetch failed'); },
    json(409, { statusCode: 409, error: 'Conflict', message: 'in flight' }),
    json(429, { statusCode: 429, error: 'Too Many Requests', message: 'slow down' }, { 'retry-after': '0' }),
    json(503, { statusCode: 503, error: 'Service Unavailable', message: 'db down' }, { 'retry-after': '0' }),
    json(202, accepted),
  ]);
  const client = new OrdersClient({ baseUrl: 'http://api.test/', apiKey: 'k', fetch: f.impl, baseDelayMs: 1 });
  const r = await client.placeOrder(ORDER);
  assert.equal(r.final, false);
  assert.deepEqual(r.final ? undefined : r.accepted, accepted);
  const keys = new Set(f.seen.map((s) => s.headers['idempotency-key']));
  assert.equal(f.seen.length, 5);
  assert.deepEqual([...keys], [r.idempotencyKey]);
  assert.equal(f.seen[0].url, 'http://api.test/orders');
  assert.equal(f.seen[0].headers.authorization, 'Bearer k');
});

test('a validation error is raised at once, typed, with the details and the key to retry with', async () => {
  const details = [{ field: 'items.0.quantity', errors: ['quantity must not be greater than 1000'] }];
  const f = scripted([json(400, { statusCode: 400, error: 'Bad Request', message: 'validation failed', details })]);
  const client = new OrdersClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch: f.impl, baseDelayMs: 1 });
  const err = await client.placeOrder(ORDER, { idempotencyKey: 'checkout-42' }).catch((e: unknown) => e);
  assert.ok(err instanceof OrdersApiError);
  assert.equal(err.statusCode, 400);
  assert.equal(err.error, 'Bad Request');
  assert.deepEqual(err.details, details);
  assert.equal(err.idempotencyKey, 'checkout-42');
  assert.equal(err.retryable, false);
  assert.equal(f.seen.length, 1);
});

test('after the last attempt the retryable error is raised with the same key', async () => {
  const f = scripted(Array.from({ length: 3 }, () => json(503, { statusCode: 503, error: 'Service Unavailable', message: 'down' })));
  const client = new OrdersClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch: f.impl, baseDelayMs: 1, maxAttempts: 3 });
  const err = await client.placeOrder(ORDER).catch((e: unknown) => e);
  assert.ok(err instanceof OrdersApiError);
  assert.equal(err.statusCode, 503);
  assert.equal(err.retryable, true);
  assert.equal(err.idempotencyKey, f.seen[0].headers['idempotency-key']);
  assert.equal(f.seen.length, 3);
});

test('cancelOrder does not retry a 409: the order is already final', async () => {
  const f = scripted([json(409, { statusCode: 409, error: 'Conflict', message: 'order is final' })]);
  const client = new OrdersClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch: f.impl, baseDelayMs: 1 });
  const err = await client.cancelOrder('o1').catch((e: unknown) => e);
  assert.ok(err instanceof OrdersApiError && err.isConflict);
  assert.equal(f.seen.length, 1);
});

test('the SSE parser handles events split across chunks, CRLF, multi-line data, comments and retry advice', async () => {
  const text = ': hi\r\nretry: 2500\r\n\r\nid: 1\r\nevent: PENDING\r\ndata: {"a":\r\ndata: 1}\r\n\r\n: heartbeat\n\nid: 2\nevent: CONFIRMED\ndata: {}\n\n';
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7));
      c.close();
    },
  });
  let retry = 0;
  const out = [];
  for await (const m of parseEventStream(body, (ms) => (retry = ms))) out.push(m);
  assert.equal(retry, 2500);
  assert.deepEqual(out, [
    { id: '1', event: 'PENDING', data: '{"a":\n1}' },
    { id: '2', event: 'CONFIRMED', data: '{}' },
  ]);
});

test('followOrder resumes after a 503 and a dropped stream with Last-Event-ID, yielding every event once', async () => {
  const sse = (text: string) => () => new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  const ev = (seq: number, status: string) => `id: ${seq}\nevent: ${status}\ndata: ${JSON.stringify({ id: 'o1', status, sequence: seq })}\n\n`;
  const f = scripted([
    sse(`retry: 1\n\n${ev(1, 'PENDING')}`), // then the stream ends without a final state: a drop
    json(503, { statusCode: 503, error: 'Service Unavailable', message: 'restarting' }),
    sse(`${ev(1, 'PENDING')}${ev(2, 'PROCESSING')}${ev(3, 'CONFIRMED')}`), // a server that replays too much
  ]);
  const client = new OrdersClient({ baseUrl: 'http://api.test', fetch: f.impl });
  const seen: string[] = [];
  for await (const e of client.followOrder({ links: { events: '/orders/o1/events?token=t' } }, { maxReconnectDelayMs: 5 })) seen.push(e.status);
  assert.deepEqual(seen, ['PENDING', 'PROCESSING', 'CONFIRMED']);
  assert.deepEqual(f.seen.map((s) => s.headers['last-event-id']), [undefined, '1', '1']);
  assert.equal(f.seen[0].url, 'http://api.test/orders/o1/events?token=t');
});

test('followOrder raises a 401 (bad token) at once, through the iterator and onError', async () => {
  const f = scripted([json(401, { statusCode: 401, error: 'Unauthorized', message: 'invalid events token for this order' })]);
  const client = new OrdersClient({ baseUrl: 'http://api.test', fetch: f.impl });
  let reported: OrdersApiError | undefined;
  const follower = client.followOrder('/orders/o1/events?token=bad', { onError: (e) => (reported = e) });
  await assert.rejects(follower.finished, (e: unknown) => e instanceof OrdersApiError && e.statusCode === 401);
  assert.equal(reported?.statusCode, 401);
  assert.equal(f.seen.length, 1);
});
