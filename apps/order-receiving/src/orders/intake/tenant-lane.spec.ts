import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BULK_AFTER, TenantLane } from './tenant-lane';

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
