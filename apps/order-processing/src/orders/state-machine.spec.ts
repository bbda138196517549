import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ORDER_STATUSES } from '@orders/contracts';
import { canTransition, isFinal } from './state-machine';

test('the saga path and cancellation are allowed', () => {
  assert.ok(canTransition('PENDING', 'PROCESSING'));
  assert.ok(canTransition('PENDING', 'CANCELLED'));
  assert.ok(canTransition('PENDING', 'FAILED'), 'an order that could not start still ends');
  for (const to of ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'] as const) assert.ok(canTransition('PROCESSING', to), to);
});

test('a final order never moves again', () => {
  for (const from of ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'] as const) {
    assert.ok(isFinal(from));
    for (const to of ORDER_STATUSES) assert.equal(canTransition(from, to), false, `${from}→${to}`);
  }
});

test('no skipping, no going back, no staying put', () => {
  assert.equal(canTransition('PENDING', 'CONFIRMED'), false);
  assert.equal(canTransition('PENDING', 'REJECTED'), false);
  assert.equal(canTransition('PROCESSING', 'PENDING'), false);
  assert.equal(canTransition('PROCESSING', 'PROCESSING'), false);
  assert.equal(isFinal('PROCESSING'), false);
});
