import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEventsToken, eventsToken } from './events-token';
import { sseFrame } from './order-stream';

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

test('an SSE frame carries id, event and one-line JSON data', () => {
  assert.equal(sseFrame(3, 'CONFIRMED', { a: 'x\ny' }), 'id: 3\nevent: CONFIRMED\ndata: {"a":"x\\ny"}\n\n');
});
