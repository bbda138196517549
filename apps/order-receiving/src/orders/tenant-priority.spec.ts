import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CANCEL_PRIORITY } from '@orders/contracts';
import { TenantPriority } from './tenant-priority';

test('a quiet tenant keeps the highest priority while a flooding one sinks', () => {
  const p = new TenantPriority(10000, 0);
  const flood: number[] = [];
  for (let i = 0; i < 3000; i++) flood.push(p.next('big', 1000));
  assert.equal(flood[0], 8);
  assert.equal(flood[99], 7);
  assert.equal(flood[499], 5);
  assert.equal(flood[2999], 1);
  assert.equal(p.next('small', 1000), 8, 'another tenant is not affected by the flood');
});

test('the count fades after two quiet windows', () => {
  const p = new TenantPriority(10000, 0);
  for (let i = 0; i < 600; i++) p.next('big', 0);
  assert.equal(p.next('big', 12000), 3, 'the previous window still counts');
  assert.equal(p.next('big', 35000), 8, 'two windows later it is forgotten');
});

test('no placement reaches the priority of a cancel: a cancel overtakes its own waiting placement', () => {
  const p = new TenantPriority(10000, 0);
  const seen = new Set<number>();
  for (let i = 0; i < 3000; i++) seen.add(p.next('t', 0));
  assert.ok([...seen].every((x) => x < CANCEL_PRIORITY), `placement priorities ${[...seen].join(',')} vs cancel ${CANCEL_PRIORITY}`);
});
