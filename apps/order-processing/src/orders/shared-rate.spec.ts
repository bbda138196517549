import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedRate } from './shared-rate';

test('without a baseline (no quiet order seen alone) the rate stays at its maximum', () => {
  const r = new SharedRate(50, 10);
  for (let i = 0; i < 10; i++) r.observe(5000, true);
  assert.equal(r.rate, 50);
});

test('shared, quiet orders over twice the baseline cut the rate by a fifth each, down to the minimum; within 1.5 times they give it back', () => {
  const r = new SharedRate(50, 10);
  r.observe(30, false);
  r.observe(40, false);
  assert.ok(r.baseline! >= 30 && r.baseline! < 30.1, 'the fastest alone (drifting up a little)');
  r.observe(61, true);
  assert.equal(r.rate, 40);
  r.observe(55, true);
  assert.equal(r.rate, 40, 'between 1.5 and 2 times: unchanged');
  for (let i = 0; i < 20; i++) r.observe(500, true);
  assert.equal(r.rate, 10, 'never below the minimum');
  r.observe(45, true);
  assert.equal(r.rate, 12.5, 'a twentieth of the maximum back');
  for (let i = 0; i < 50; i++) r.observe(20, false);
  assert.equal(r.rate, 50, 'never above the maximum; alone it recovers');
});

test('the baseline follows the minimum and drifts up slowly: one slow order alone does not move it, a lasting slower normal does', () => {
  const r = new SharedRate(50, 10);
  r.observe(20, false);
  r.observe(400, false);
  assert.ok(r.baseline! < 20.1);
  for (let i = 0; i < 400; i++) r.observe(40, false);
  assert.equal(r.baseline, 40);
});

test('a minimum at or above the maximum is a fixed rate', () => {
  const r = new SharedRate(4, 10);
  r.observe(10, false);
  for (let i = 0; i < 10; i++) r.observe(1000, true);
  assert.equal(r.rate, 4);
});
