/** A promotion as stored (camelCase), the input of the pure coupon rules. */
export interface Promotion {
  code: string;
  type: 'percent' | 'fixed';
  value: number;
  currency: string | null;
  minSubtotalCents: number | null;
  startsAt: Date | null;
  endsAt: Date | null;
  maxRedemptions: number | null;
  redemptions: number;
}

export type CouponProblem = 'unknown' | 'not_started' | 'expired' | 'exhausted' | 'below_minimum' | 'wrong_currency';
export type CouponCheck = { ok: true; discountCents: number } | { ok: false; problem: CouponProblem };

/** Discount in minor units: percent rounds half up; never more than the subtotal. */
export function discountFor(p: Pick<Promotion, 'type' | 'value'>, subtotalCents: number): number {
  const raw = p.type === 'percent' ? Math.round((subtotalCents * p.value) / 100) : p.value;
  return Math.max(0, Math.min(raw, subtotalCents));
}

/** Whether a coupon applies to an order of this subtotal and currency at `now`, and what it takes off. */
export function checkCoupon(p: Promotion | undefined, subtotalCents: number, currency: string, now: Date): CouponCheck {
  if (!p) return { ok: false, problem: 'unknown' };
  if (p.startsAt && now < p.startsAt) return { ok: false, problem: 'not_started' };
  if (p.endsAt && now >= p.endsAt) return { ok: false, problem: 'expired' };
  if (p.currency && p.currency !== currency) return { ok: false, problem: 'wrong_currency' };
  if (p.minSubtotalCents !== null && subtotalCents < p.minSubtotalCents) return { ok: false, problem: 'below_minimum' };
  if (p.maxRedemptions !== null && p.redemptions >= p.maxRedemptions) return { ok: false, problem: 'exhausted' };
  return { ok: true, discountCents: discountFor(p, subtotalCents) };
}
