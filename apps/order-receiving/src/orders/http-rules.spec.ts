import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainToInstance } from 'class-transformer';
import { CreateOrderDto } from '@orders/dto';
import {
  canonicalOrder, checkIdempotencyKey, decodeCursor, encodeCursor, eventsToken, preferWaitSeconds, RateLimiter, requestHash, sseFrame, checkEventsToken,
} from './http-rules';
import { OrdersError } from './orders.error';

test('Prefer: wait=N is read per RFC 7240 and clamped to 30 seconds', () => {
  assert.equal(preferWaitSeconds(undefined), undefined);
  assert.equal(preferWaitSeconds('respond-async'), undefined);
  assert.equal(preferWaitSeconds('wait=5'), 5);
  assert.equal(preferWaitSeconds('respond-async, wait=12'), 12);
  assert.equal(preferWaitSeconds('wait="7"'), 7);
  assert.equal(preferWaitSeconds('WAIT = 3'), 3);
  assert.equal(preferWaitSeconds('wait=600'), 30);
  assert.equal(preferWaitSeconds('wait=-1'), undefined);
  assert.equal(preferWaitSeconds('nowait=5'), undefined);
});

test('Idempotency-Key: missing and malformed keys are 400 with the header named', () => {
  assert.equal(checkIdempotencyKey('a'), 'a');
  assert.equal(checkIdempotencyKey(' ~'.repeat(127) + 'x'), ' ~'.repeat(127) + 'x');
  for (const bad of [undefined, '', 'x'.repeat(256), 'caf\u00e9', 'a\tb', ['a', 'b']]) {
    assert.throws(() => checkIdempotencyKey(bad), (e: unknown) => e instanceof OrdersError && e.getStatus() === 400 && /Idempotency-Key/.test(e.message));
  }
});

test('the request hash ignores key order but not content', () => {
  const a = plainToInstance(CreateOrderDto, {
    customer: { id: 'c', email: 'a@b.co' }, items: [{ sku: 'S', quantity: 1 }], shippingAddress: { line1: 'l', city: 'c', postalCode: 'p', country: 'GB' }, payment: { token: 't' },
  });
  const b = plainToInstance(CreateOrderDto, {
    payment: { token: 't' }, shippingAddress: { country: 'GB', postalCode: 'p', city: 'c', line1: 'l' }, items: [{ quantity: 1, sku: 'S' }], customer: { email: 'a@b.co', id: 'c' },
  });
  const h = (d: CreateOrderDto) => requestHash(JSON.stringify(canonicalOrder(d)));
  assert.equal(h(a), h(b));
  b.items[0].quantity = 2;
  assert.notEqual(h(a), h(b));
});

test('events tokens are bound to tenant, order and expiry, and expire', () => {
  const S = 'secret-secret-secret';
  const now = 1_800_000_000;
  const t = eventsToken(S, 'demo', 'order-1', now + 60);
  assert.equal(checkEventsToken(S, 'demo', 'order-1', t, now), 'valid');
  assert.equal(checkEventsToken(S, 'demo', 'order-1', t, now + 60), 'expired');
  assert.equal(checkEventsToken(S, 'acme', 'order-1', t, now), 'invalid');
  assert.equal(checkEventsToken(S, 'demo', 'order-2', t, now), 'invalid');
  assert.equal(checkEventsToken('another-secret-xx', 'demo', 'order-1', t, now), 'invalid');
  assert.equal(checkEventsToken(S, 'demo', 'order-1', t.slice(0, -1), now), 'invalid');
  const [, mac] = t.split('.');
  assert.equal(checkEventsToken(S, 'demo', 'order-1', `${now + 999_999}.${mac}`, now), 'invalid', 'the expiry cannot be pushed out');
  assert.equal(checkEventsToken(S, 'demo', 'order-1', mac, now), 'invalid', 'a token without expiry (the old format) no longer opens streams');
});

test('cursors round-trip and foreign cursors are 400', () => {
  const c = { at: '2026-01-01T00:00:00.123Z', id: '0b7f5b8e-4d7a-4c43-9a53-5a1c1e0b6f11' };
  assert.deepEqual(decodeCursor(encodeCursor(c)), c);
  const leap = { at: '2024-02-29T23:59:59.999999Z', id: c.id };
  assert.deepEqual(decodeCursor(encodeCursor(leap)), leap);
  for (const bad of ['', 'abc', Buffer.from('2026-01-01T00:00:00Z|nope').toString('base64url'), Buffer.from(`yesterday|${c.id}`).toString('base64url'), Buffer.from(`${c.at}|${c.id}|x`).toString('base64url'),
    ...['2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:60:00Z', '0000-01-01T00:00:00Z']
      .map((at) => Buffer.from(`${at}|${c.id}`).toString('base64url'))]) {
    assert.throws(() => decodeCursor(bad), (e: unknown) => e instanceof OrdersError && e.getStatus() === 400, bad);
  }
});

test('the rate limiter allows the burst, then the refill rate, per tenant, with a retry-after', () => {
  let now = 0;
  const rl = new RateLimiter(2, 3, () => now);
  assert.deepEqual([rl.take('a'), rl.take('a'), rl.take('a')], [0, 0, 0]);
  assert.ok(rl.take('a') >= 1);
  assert.equal(rl.take('b'), 0, 'tenants are independent');
  now += 500;
  assert.equal(rl.take('a'), 0);
  assert.ok(rl.take('a') > 0);
  now += 10_000;
  assert.deepEqual([rl.take('a'), rl.take('a'), rl.take('a')], [0, 0, 0], 'never more than the burst');
  assert.ok(rl.take('a') > 0);
});

test('an SSE frame carries id, event and one-line JSON data', () => {
  assert.equal(sseFrame(3, 'CONFIRMED', { a: 'x\ny' }), 'id: 3\nevent: CONFIRMED\ndata: {"a":"x\\ny"}\n\n');
});

test('order errors map to HTTP status and to message dispositions', () => {
  assert.equal(new OrdersError('idempotency_key_reused', 'x').getStatus(), 422);
  assert.equal(new OrdersError('idempotency_in_flight', 'x').getStatus(), 409);
  assert.equal(new OrdersError('rate_limited', 'x').getStatus(), 429);
  assert.equal(new OrdersError('status_for_unknown_order', 'x').disposition, 'dead-letter');
  assert.equal(new OrdersError('order_not_found', 'x').disposition, 'retry');
});
