import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainToInstance } from 'class-transformer';
import { CreateOrderDto } from '@orders/dto';
import { canonicalOrder, requestHash } from './canonical-order';

test('the request hash ignores key order but not content', () => {
  const a = plainToInstance(CreateOrderDto, {
    customer: { id: 'c', email: 'a@b.co' }, items: [{ sku: 'S', quantity: 1 }], shippingAddress: { line1: 'l', city: 'c', postalCode: 'p', country: 'GB' }, payment: { token: 't' },
  });
  const b = plainToInstance(CreateOrderDto, {
    payment: { token: 't' }, shippingAddress: { country: 'GB', postalCode: 'p', city: 'c', line1: 'l' }, items: [{ quantity: 1, sku: 'S' }], customer: { email: 'a@b.co', id: 'c' },
  });
  const h = (d: CreateOrderDto) => requestHash(JSON.stringify(canonicalOrder(d)));
  assert.equal(h(a), h(b));
  b.items[0].quantity = 2;
  assert.notEqual(h(a), h(b));
});
