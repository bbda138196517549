import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inlineParams, literal } from './sql';

test('parameters are written in as literals: strings quoted and escaped, JSON quoted, arrays, NULL', () => {
  assert.equal(
    inlineParams('UPDATE t SET a = $1, b = $2::jsonb, c = $3, d = $4::text[] WHERE id = $5 AND x = $10', ["O'Brien \\ x", { k: "it's" }, null, ['a', "b'"], 7, 1, 1, 1, 1, true]),
    `UPDATE t SET a = E'O''Brien \\\\ x', b = '{"k":"it''s"}'::jsonb, c = NULL, d = ARRAY['a', 'b''']::text[] WHERE id = 7 AND x = TRUE`,
  );
  assert.equal(literal([]), `'{}'`);
  assert.equal(literal(new Date('2026-01-01T00:00:00.000Z')), `'2026-01-01T00:00:00.000Z'`);
  assert.throws(() => literal(Number.NaN), /finite/);
});

test('$n inside quoted strings and identifiers is left as it is; a missing parameter is an error', () => {
  assert.equal(inlineParams(`SELECT '$1', "$2", jsonb_path_exists(items, '$[*].price'), $1`, ['x', 'y']), `SELECT '$1', "$2", jsonb_path_exists(items, '$[*].price'), 'x'`);
  assert.equal(inlineParams(`SELECT 'it''s $1', $1`, [3]), `SELECT 'it''s $1', 3`);
  assert.throws(() => inlineParams('SELECT $2', [1]), /no parameter \$2/);
});
