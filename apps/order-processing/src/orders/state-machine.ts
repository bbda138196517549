import type { OrderStatus } from '@orders/contracts';

/**
 * The only moves an order can make; everything else is refused. PENDING →
 * FAILED is the watchdog's and a dead-lettered placement's: an order that
 * could not even start still ends.
 */
const ALLOWED: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PENDING: ['PROCESSING', 'CANCELLED', 'FAILED'],
  PROCESSING: ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'],
  CONFIRMED: [],
  REJECTED: [],
  FAILED: [],
  CANCELLED: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return ALLOWED[from]?.includes(to) ?? false;
}

export function isFinal(status: OrderStatus): boolean {
  return ALLOWED[status].length === 0;
}
