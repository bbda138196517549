import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEnvelope, InvalidMessageError, parseEnvelope, validatePayload } from './envelope';
import { MESSAGES, MessageName } from './registry';
import { fieldPaths, objectWith, UNSAFE_TEXT_SAMPLES as UNSAFE_SAMPLES, validatedClasses } from '@orders/testing';
import { isSafeText, unsafeTextPaths } from './safe-text';

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

test('every field of every message refuses NUL and lone surrogates on arrival, naming the field', () => {
  let checked = 0;
  for (const name of Object.keys(MESSAGES) as MessageName[]) {
    const paths = fieldPaths(MESSAGES[name]);
    assert.ok(paths.length > 0, name);
    for (const path of paths) {
      for (const [what, bad] of Object.entries(UNSAFE_SAMPLES)) {
        assert.throws(
          () => validatePayload(name, objectWith(path, bad)),
          (e: unknown) => e instanceof InvalidMessageError && e.details.some((d) => d.startsWith(`${path}: `) && /control characters/.test(d)),
          `${name} ${path} ${what}`,
        );
        checked++;
      }
    }
  }
  assert.ok(fieldPaths(MESSAGES['order.placed.v1']).includes('payment.token'));
  assert.ok(fieldPaths(MESSAGES['order.placed.v1']).includes('items.0.sku'));
  assert.ok(checked > 100);
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

test('validatedClasses lists every loaded class that declares rules (or the base it inherits them from)', () => {
  const all = validatedClasses();
  for (const cls of Object.values(MESSAGES)) assert.ok(all.some((c) => c === cls || cls.prototype instanceof c), cls.name);
});
