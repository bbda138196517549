import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrdersError } from '../orders.error';
import { decodeCursor, encodeCursor } from './cursor';

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
