import { createHash } from 'node:crypto';
import type { CreateOrderDto } from '@orders/dto';

/**
 * The order as it travels in order.placed.v1, with a fixed key order, so
 * the same order sent with keys in another order hashes the same.
 */
export function canonicalOrder(dto: CreateOrderDto) {
  const c = dto.customer;
  const a = dto.shippingAddress;
  return {
    customer: { id: c.id, email: c.email, ...(c.name !== undefined ? { name: c.name } : {}) },
    items: dto.items.map((i) => ({ sku: i.sku, quantity: i.quantity })),
    ...(dto.couponCode !== undefined ? { couponCode: dto.couponCode } : {}),
    shippingAddress: {
      line1: a.line1,
      ...(a.line2 !== undefined ? { line2: a.line2 } : {}),
      city: a.city,
      postalCode: a.postalCode,
      country: a.country,
      ...(a.region !== undefined ? { region: a.region } : {}),
    },
    payment: { token: dto.payment.token },
  };
}
export type CanonicalOrder = ReturnType<typeof canonicalOrder>;

/** The Idempotency-Key's body fingerprint. */
export function requestHash(canonicalJson: string): string {
  return createHash('sha256').update(canonicalJson).digest('base64url');
}
