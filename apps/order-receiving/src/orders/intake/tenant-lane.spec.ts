import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BULK_AFTER, HEAVY_RATIO, TenantLane } from './tenant-lane';

test('a flooding tenant moves to the bulk lane while another tenant stays in the quiet one', () => {
  const lanes = new TenantLane(10000, BULK_AFTER, 0);
  const flood = Array.from({ length: 3000 }, () => lanes.next('big', 1000));
  assert.equal(flood[BULK_AFTER - 1], 'quiet');
  assert.equal(flood[BULK_AFTER], 'bulk');
  assert.equal(flood[2999], 'bulk');
  assert.equal(lanes.next('small', 1000), 'quiet', 'another tenant is not affected by the flood');
});

test('the count fades after two quiet windows', () => {
  const lanes = new TenantLane(10000, BULK_AFTER, 0);
  for (let i = 0; i < 600; i++) lanes.next('big', 0);
  assert.equal(lanes.next('big', 12000), 'bulk', 'the previous window still counts');
  assert.equal(lanes.next('big', 35000), 'quiet', 'two windows later it is forgotten');
});

test('beside a flood, a tenant placing a steady few orders per second stays quiet past BULK_AFTER', () => {
  const lanes = new TenantLane(10000, BULK_AFTER, 0);
  for (let i = 0; i < 3000; i++) lanes.next('big', 1000);
  const steady = Array.from({ length: 120 }, (_, i) => lanes.next('steady', 1000 + i * 50));
  assert.deepEqual(new Set(steady), new Set(['quiet']), 'far fewer than the flood: not heavy');
  assert.equal(lanes.next('big', 7000), 'bulk');
});

test('two floods are both heavy, a small tenant beside them is not', () => {
  const lanes = new TenantLane(10000, BULK_AFTER, 0);
  for (let i = 0; i < 2000; i++) {
    lanes.next('a', 1000);
    lanes.next('b', 1000);
  }
  assert.equal(lanes.next('a', 2000), 'bulk');
  assert.equal(lanes.next('b', 2000), 'bulk');
  assert.equal(lanes.next('small', 2000), 'quiet');
});

test('a tenant that grows to within HEAVY_RATIO of the busiest becomes heavy, also across a window', () => {
  const lanes = new TenantLane(10000, BULK_AFTER, 0);
  for (let i = 0; i < 1000; i++) lanes.next('big', 0);
  const growing = Array.from({ length: 260 }, () => lanes.next('growing', 100));
  assert.equal(growing.indexOf('bulk'), 1000 / HEAVY_RATIO - 1, 'its 250th order: 250 × HEAVY_RATIO ≥ the busiest other tenant’s 1,000');
  assert.equal(lanes.next('growing', 10500), 'bulk', 'the previous window still counts');
  assert.equal(lanes.next('small', 10500), 'quiet');
});
