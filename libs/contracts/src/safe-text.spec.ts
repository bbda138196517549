import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEnvelope, InvalidMessageError, parseEnvelope } from './envelope';
import { isSafeText, unsafeTextPaths } from './safe-text';

/** One sample of each kind of unsafe text (the same as @orders/testing's). */
const UNSAFE_SAMPLES: Readonly<Record<string, string>> = {
  NUL: 'a\u0000b', 'lone high surrogate': 'a\ud800', 'lone low surrogate': '\udc00a', LF: 'a\nb', TAB: 'a\tb', DEL: 'a\u007f',
};

test('safe text: ordinary and non-Latin text and emoji pass; controls, DEL and unpaired surrogates do not', () => {
  for (const ok of ['Ada Lovelace', 'Zoë Ünïcode', '東京都', '😀 pair', '']) assert.ok(isSafeText(ok), ok);
  for (const [what, bad] of Object.entries(UNSAFE_SAMPLES)) assert.equal(isSafeText(bad), false, what);
  assert.equal(isSafeText('\ud83d\ude00\ud83d'), false, 'a pair then a lone high surrogate');
  assert.deepEqual(unsafeTextPaths({ a: 'x', b: [{ c: 'ok' }, { c: 'x\u0000' }], d: { e: '\ud800' } }), ['b.1.c', 'd.e']);
});

test('a deeply nested value is walked without overflowing the stack', () => {
  let v: unknown = 'x\u0000';
  for (let i = 0; i < 100_000; i++) v = [v];
  assert.equal(unsafeTextPaths(v).length, 1);
});

test('a crafted order.placed.v1 with NUL in payment.token is an invalid message', () => {
  const env = createEnvelope('order.placed.v1', {
    orderId: '0b7f5b8e-4d7a-4c43-9a53-5a1c1e0b6f11', tenantId: 't1',
    customer: { id: 'c', email: 'a@example.com' }, items: [{ sku: 'S', quantity: 1 }],
    shippingAddress: { line1: 'l', city: 'c', postalCode: 'p', country: 'GB' }, payment: { token: 'tok_\u0000ok' }, placedAt: new Date().toISOString(),
  });
  assert.throws(() => parseEnvelope(JSON.stringify(env)), /payment\.token/);
  assert.throws(() => parseEnvelope(JSON.stringify({ ...env, correlationId: 'x\u0000' })), InvalidMessageError);
});

