import type { Disposition, HasDisposition } from '@orders/messaging';

export type OrderErrorCode = 'order_unknown';

const DISPOSITIONS: Record<OrderErrorCode, Disposition> = {
  /** A step for an order whose order.placed.v1 has not been handled yet: it arrives shortly, so retry later. */
  order_unknown: 'retry',
};

/** The orders module's one error type. */
export class OrderError extends Error implements HasDisposition {
  readonly disposition: Disposition;
  constructor(readonly code: OrderErrorCode, message: string) {
    super(message);
    this.name = 'OrderError';
    this.disposition = DISPOSITIONS[code];
  }
}
