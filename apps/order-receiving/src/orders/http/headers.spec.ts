import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrdersError } from '../orders.error';
import { checkIdempotencyKey, lastEventId, preferWaitSeconds } from './headers';
import { RateLimiter } from './rate-limiter';

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

test('Last-Event-ID is a sequence number, 0 when absent, 400 otherwise', () => {
  assert.equal(lastEventId(undefined), 0);
  assert.equal(lastEventId('7'), 7);
  for (const bad of ['', 'abc', '-1', '1.5', '1'.repeat(10)]) {
    assert.throws(() => lastEventId(bad), (e: unknown) => e instanceof OrdersError && e.getStatus() === 400 && /Last-Event-ID/.test(e.message), bad);
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

test('the rate limiter forgets buckets that are full again', () => {
  let now = 0;
  const rl = new RateLimiter(1, 2, () => now);
  rl.take('a');
  rl.take('b');
  rl.take('b');
  now += 1500;
  rl.sweep();
  assert.equal(rl.size, 1, 'a is full again; b is not');
  assert.equal(rl.take('a'), 0);
});

test('order errors map to HTTP status and to message dispositions', () => {
  assert.equal(new OrdersError('idempotency_key_reused', 'x').getStatus(), 422);
  assert.equal(new OrdersError('idempotency_in_flight', 'x').getStatus(), 409);
  assert.equal(new OrdersError('rate_limited', 'x').getStatus(), 429);
  assert.equal(new OrdersError('status_for_unknown_order', 'x').disposition, 'dead-letter');
  assert.equal(new OrdersError('order_not_found', 'x').disposition, 'retry');
});
