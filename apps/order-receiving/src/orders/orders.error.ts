import { HttpException } from '@nestjs/common';
import type { Disposition, HasDisposition } from '@orders/messaging';

/** Every failure of the orders module, by code: HTTP status for requests, disposition for consumed messages. */
const HTTP_STATUS = {
  unauthorized: 401,
  rate_limited: 429,
  too_many_streams: 429,
  idempotency_key_missing: 400,
  idempotency_key_invalid: 400,
  idempotency_key_reused: 422,
  idempotency_in_flight: 409,
  order_not_found: 404,
  order_final: 409,
  cancel_undecided: 503,
  /** Intake's bounded queue is full or an order waited too long for the database (nothing written; retry with the same key). */
  intake_saturated: 503,
  bad_cursor: 400,
  bad_last_event_id: 400,
  unsupported_media_type: 415,
} as const;

const DISPOSITION = {
  /** A status event for an order this service never accepted: retrying cannot help; keep it for operators. */
  status_for_unknown_order: 'dead-letter',
} as const satisfies Record<string, Disposition>;

export type OrdersErrorCode = keyof typeof HTTP_STATUS | keyof typeof DISPOSITION;

export class OrdersError extends HttpException implements HasDisposition {
  constructor(readonly code: OrdersErrorCode, message: string, headers?: Record<string, string>) {
    super({ message, headers }, code in HTTP_STATUS ? HTTP_STATUS[code as keyof typeof HTTP_STATUS] : 500);
    this.name = 'OrdersError';
  }

  get disposition(): Disposition {
    return (DISPOSITION as Record<string, Disposition>)[this.code] ?? 'retry';
  }
}
