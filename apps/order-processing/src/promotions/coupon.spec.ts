import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { subtotalOf, totalsOf } from '../orders/totals';
import { checkCoupon, discountFor, Promotion } from './coupon';

const base: Promotion = {
  code: 'X', type: 'percent', value: 10, currency: null, minSubtotalCents: null,
  startsAt: null, endsAt: null, maxRedemptions: null, redemptions: 0,
};
const now = new Date('2026-06-01T12:00:00Z');

test('subtotal is the sum of quantity × unit price', () => {
  assert.equal(subtotalOf([{ quantity: 2, unitPriceCents: 1250 }, { quantity: 1, unitPriceCents: 990 }]), 3490);
});

test('percent and fixed discounts', () => {
  assert.equal(discountFor({ type: 'percent', value: 10 }, 2500), 250);
  assert.equal(discountFor({ type: 'percent', value: 15 }, 999), 150); // 149.85 rounds half up
  assert.equal(discountFor({ type: 'percent', value: 100 }, 4321), 4321);
  assert.equal(discountFor({ type: 'fixed', value: 500 }, 2500), 500);
});

test('a discount never exceeds the subtotal and the total is never negative', () => {
  fc.assert(
    fc.property(fc.constantFrom<'percent' | 'fixed'>('percent', 'fixed'), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 0, max: 10_000_000 }), (type, pct, fixed, subtotal) => {
      const d = discountFor({ type, value: type === 'percent' ? pct : fixed }, subtotal);
      const t = totalsOf(subtotal, d, 'EUR');
      return d >= 0 && d <= subtotal && t.totalCents === subtotal - d && t.totalCents >= 0;
    }),
  );
});

test('a valid coupon applies', () => {
  assert.deepEqual(checkCoupon(base, 2000, 'EUR', now), { ok: true, discountCents: 200 });
  assert.deepEqual(checkCoupon({ ...base, type: 'fixed', value: 300, currency: 'EUR' }, 2000, 'EUR', now), { ok: true, discountCents: 300 });
});

test('unknown, outside its window, wrong currency, below minimum or exhausted coupons do not apply', () => {
  const problem = (p: Promotion | undefined, subtotal = 2000, currency = 'EUR') => {
    const r = checkCoupon(p, subtotal, currency, now);
    return r.ok ? 'ok' : r.problem;
  };
  assert.equal(problem(undefined), 'unknown');
  assert.equal(problem({ ...base, startsAt: new Date('2026-06-02T00:00:00Z') }), 'not_started');
  assert.equal(problem({ ...base, endsAt: new Date('2026-06-01T11:59:59Z') }), 'expired');
  assert.equal(problem({ ...base, endsAt: now }), 'expired');
  assert.equal(problem({ ...base, startsAt: new Date('2026-01-01Z'), endsAt: new Date('2027-01-01Z') }), 'ok');
  assert.equal(problem({ ...base, type: 'fixed', value: 100, currency: 'USD' }), 'wrong_currency');
  assert.equal(problem({ ...base, minSubtotalCents: 2001 }), 'below_minimum');
  assert.equal(problem({ ...base, minSubtotalCents: 2000 }), 'ok');
  assert.equal(problem({ ...base, maxRedemptions: 5, redemptions: 5 }), 'exhausted');
  assert.equal(problem({ ...base, maxRedemptions: 5, redemptions: 4 }), 'ok');
});
