import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextDelay, parseSchedule, withJitter } from './schedule';

const schedule = parseSchedule('0,5000,300000,1800000');

test('each attempt waits its entry of the schedule, then the delivery has failed', () => {
  const mid = () => 0.5; // no spread
  assert.equal(nextDelay(schedule, 0, mid), 0);
  assert.equal(nextDelay(schedule, 1, mid), 5000);
  assert.equal(nextDelay(schedule, 2, mid), 300000);
  assert.equal(nextDelay(schedule, 3, mid), 1800000);
  assert.equal(nextDelay(schedule, 4, mid), null);
  assert.equal(nextDelay(schedule, 9, mid), null);
});

test('jitter spreads a delay by at most ±20 %, and an immediate attempt stays immediate', () => {
  assert.equal(withJitter(10000, () => 0), 8000);
  assert.equal(withJitter(10000, () => 0.999999), 12000);
  assert.equal(withJitter(0, () => 0.9), 0);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const d = withJitter(5000);
    assert.ok(d >= 4000 && d <= 6000, String(d));
    seen.add(d);
  }
  assert.ok(seen.size > 20, 'delays are actually spread');
});
