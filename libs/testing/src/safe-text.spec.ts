import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidMessageError, MESSAGES, MessageName, validatePayload } from '@orders/contracts';
import { fieldPaths, objectWith, UNSAFE_TEXT_SAMPLES as UNSAFE_SAMPLES, validatedClasses } from './safe-text';

/** The contracts' messages against these helpers: every field of every message, as the apps prove it for their request classes. */

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

test('validatedClasses lists every loaded class that declares rules (or the base it inherits them from)', () => {
  const all = validatedClasses();
  for (const cls of Object.values(MESSAGES)) assert.ok(all.some((c) => c === cls || cls.prototype instanceof c), cls.name);
});
