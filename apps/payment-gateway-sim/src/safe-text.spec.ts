import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isConfigClass, strictValidationPipe } from '@orders/platform';
import { fieldsAcceptingUnsafeText } from '@orders/testing';
import './app.module'; // loads every controller, so every request class of this service

test('every field of every request class refuses control characters and unpaired surrogates with a 400 naming it', async () => {
  const { checked, accepted } = await fieldsAcceptingUnsafeText(strictValidationPipe(), isConfigClass);
  for (const field of ['AuthorizeDto amountCents', 'ListQueryDto orderId']) assert.ok(checked.includes(field), `${field} is checked (${checked.length} fields)`);
  assert.deepEqual(accepted, []);
});
