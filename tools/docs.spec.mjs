// The documentation says what the code does: the message table in docs/ARCHITECTURE.md is the registry's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { current, table } from './messages-doc.mjs';

test('the message table in docs/ARCHITECTURE.md is generated from the registry (who publishes, who consumes)', () => {
  assert.equal(current().generated, table(), 'run node tools/messages-doc.mjs after changing libs/contracts/src/registry.ts');
});
