import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideReservation, StockRow, sumBySku } from './reservation-rules';

const row = (sku: string, stock: number, reserved = 0, currency = 'EUR', priceCents = 100): StockRow => ({
  sku, name: `Name ${sku}`, priceCents, currency, stock, reserved,
});

test('sums duplicate skus, keeping the order of first appearance', () => {
  assert.deepEqual(sumBySku([{ sku: 'B', quantity: 2 }, { sku: 'A', quantity: 1 }, { sku: 'B', quantity: 3 }]), {
    skus: ['B', 'A'],
    quantities: [5, 1],
  });
});

test('prices every line as ordered, at the product price, in the products\' currency', () => {
  const d = decideReservation(
    [{ sku: 'A', quantity: 2 }, { sku: 'B', quantity: 1 }],
    [row('A', 5, 0, 'USD', 1250), row('B', 1, 0, 'USD', 990)],
  );
  assert.deepEqual(d, {
    ok: true,
    currency: 'USD',
    lines: [
      { sku: 'A', name: 'Name A', quantity: 2, unitPriceCents: 1250 },
      { sku: 'B', name: 'Name B', quantity: 1, unitPriceCents: 990 },
    ],
    want: { skus: ['A', 'B'], quantities: [2, 1] },
  });
});

test('counts what is already reserved as unavailable', () => {
  assert.equal(decideReservation([{ sku: 'A', quantity: 3 }], [row('A', 5, 2)]).ok, true);
  assert.deepEqual(decideReservation([{ sku: 'A', quantity: 4 }], [row('A', 5, 2)]), { ok: false, reason: 'out_of_stock', skus: ['A'] });
});

test('duplicate lines of one sku are checked against stock together', () => {
  const d = decideReservation([{ sku: 'A', quantity: 2 }, { sku: 'A', quantity: 2 }], [row('A', 3)]);
  assert.deepEqual(d, { ok: false, reason: 'out_of_stock', skus: ['A'] });
});

test('unknown skus reject the order and are all named, before any other rule', () => {
  const d = decideReservation(
    [{ sku: 'A', quantity: 99 }, { sku: 'X', quantity: 1 }, { sku: 'Y', quantity: 1 }],
    [row('A', 1)],
  );
  assert.deepEqual(d, { ok: false, reason: 'unknown_product', skus: ['X', 'Y'] });
});

test('products in another currency than the first line\'s are mixed_currency', () => {
  const d = decideReservation(
    [{ sku: 'A', quantity: 1 }, { sku: 'B', quantity: 1 }, { sku: 'C', quantity: 1 }],
    [row('A', 1, 0, 'EUR'), row('B', 1, 0, 'USD'), row('C', 1, 0, 'EUR')],
  );
  assert.deepEqual(d, { ok: false, reason: 'mixed_currency', skus: ['B'] });
});

test('out_of_stock names only the short skus', () => {
  const d = decideReservation(
    [{ sku: 'A', quantity: 1 }, { sku: 'B', quantity: 2 }, { sku: 'C', quantity: 5 }],
    [row('A', 1), row('B', 1), row('C', 4)],
  );
  assert.deepEqual(d, { ok: false, reason: 'out_of_stock', skus: ['B', 'C'] });
});
