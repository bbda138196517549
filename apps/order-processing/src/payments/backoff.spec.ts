import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { backoffDelay } from './backoff';

test('the ceiling doubles per retry up to the cap', () => {
  const top = (i: number) => backoffDelay(i, 100, 2000, () => 0.999999);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map(top), [99, 199, 399, 799, 1599, 1999, 1999]);
});

test('full jitter: a random draw of 0 waits nothing, a draw of 0.5 waits half the ceiling', () => {
  assert.equal(backoffDelay(3, 100, 2000, () => 0), 0);
  assert.equal(backoffDelay(3, 100, 2000, () => 0.5), 400);
});

test('every delay lies in [0, min(max, base·2^i))', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 60000 }), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (i, base, max, r) => {
      const d = backoffDelay(i, base, max, () => r);
      return Number.isInteger(d) && d >= 0 && d < Math.max(1, Math.min(max, base * 2 ** i));
    }),
  );
});
