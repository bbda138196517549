import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { passesValidation } from '@orders/contracts';
import { CreateOrderDto } from './create-order.dto';
import { ListOrdersQueryDto } from './list-orders.dto';

const valid = () => ({
  customer: { id: 'c-1', email: 'ada@example.com', name: 'Ada' },
  items: [{ sku: 'SKU-1', quantity: 1000 }],
  couponCode: 'SPRING10',
  shippingAddress: { line1: '1 Way', city: 'London', postalCode: 'N1', country: 'GB', region: 'LDN' },
  payment: { token: 'tok_ok' },
});

function fields(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const f = parent ? `${parent}.${e.property}` : e.property;
    return [...(e.constraints ? [f] : []), ...fields(e.children ?? [], f)];
  });
}
const check = (body: unknown) => fields(validateSync(plainToInstance(CreateOrderDto, body) as object, { whitelist: true, forbidNonWhitelisted: true }));

test('a complete order is valid', () => {
  assert.deepEqual(check(valid()), []);
});

test('each rule names its field', () => {
  const cases: Array<[(b: ReturnType<typeof valid>) => void, string]> = [
    [(b) => (b.customer.email = 'nope'), 'customer.email'],
    [(b) => (b.customer.id = ''), 'customer.id'],
    [(b) => (b.items[0].quantity = 0), 'items.0.quantity'],
    [(b) => (b.items[0].quantity = 1001), 'items.0.quantity'],
    [(b) => (b.items[0].quantity = 1.5), 'items.0.quantity'],
    [(b) => (b.items[0].sku = '-x'), 'items.0.sku'],
    [(b) => (b.items = []), 'items'],
    [(b) => (b.items = Array.from({ length: 101 }, () => ({ sku: 'S', quantity: 1 }))), 'items'],
    [(b) => (b.shippingAddress.country = 'gb'), 'shippingAddress.country'],
    [(b) => (b.shippingAddress.country = 'XX'), 'shippingAddress.country'],
    [(b) => (b.shippingAddress.city = ''), 'shippingAddress.city'],
    [(b) => (b.payment.token = ''), 'payment.token'],
    [(b) => (b.couponCode = 'x'.repeat(65)), 'couponCode'],
    [(b) => ((b.items[0] as Record<string, unknown>).unitPriceCents = 1), 'items.0.unitPriceCents'],
  ];
  for (const [mutate, field] of cases) {
    const b = valid();
    mutate(b);
    assert.ok(check(b).includes(field), `${field}: ${check(b).join(', ')}`);
  }
});

test('list query: limit 1..100 from a query string, known statuses only', () => {
  const q = (o: Record<string, string>) => validateSync(plainToInstance(ListOrdersQueryDto, o) as object).map((e) => e.property);
  assert.deepEqual(q({ limit: '100', status: 'CONFIRMED' }), []);
  assert.deepEqual(q({ limit: '0' }), ['limit']);
  assert.deepEqual(q({ limit: 'x' }), ['limit']);
  assert.deepEqual(q({ status: 'SHIPPED' }), ['status']);
});

/** Every body one change away from a valid one: each property deleted, set to each odd value, or an extra one added. */
function oneChangeAway(): unknown[] {
  const odd: unknown[] = [undefined, null, '', 'x', 'x'.repeat(300), 0, -1, 1.5, 7, 1e9, true, {}, [], ['x'], [{ sku: 'A', quantity: 1 }], 'GB', 'gb', 'ada@example.com', 'SKU-2'];
  const out: unknown[] = [];
  const visit = (path: string[], v: unknown) => {
    if (!v || typeof v !== 'object') return;
    for (const key of [...Object.keys(v), 'extra']) {
      for (const change of ['delete', ...odd.keys()] as const) {
        const b = valid() as unknown as Record<string, unknown>;
        const target = path.reduce((o, k) => o[k] as Record<string, unknown>, b);
        if (change === 'delete') delete target[key];
        else target[key] = structuredClone(odd[change]);
        out.push(b);
      }
      visit([...path, key], (v as Record<string, unknown>)[key]);
    }
  };
  visit([], valid());
  return out;
}

test("the fast path (passesValidation) agrees with class-validator on every body one change away from a valid one", () => {
  const bodies = oneChangeAway();
  let valids = 0;
  for (const body of bodies) {
    const expected = check(body).length === 0;
    assert.equal(passesValidation(plainToInstance(CreateOrderDto, body) as object), expected, JSON.stringify(body));
    if (expected) valids++;
  }
  assert.ok(valids > 10 && valids < bodies.length / 2, `both verdicts are exercised (${valids} valid of ${bodies.length})`);
});
