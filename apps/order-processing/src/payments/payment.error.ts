import type { Disposition, HasDisposition } from '@orders/messaging';

export type PaymentErrorCode = 'gateway_unavailable' | 'gateway_wait_exhausted' | 'gateway_refused' | 'gateway_protocol';

/** What the transport does with a failed payment step. */
const DISPOSITIONS: Record<PaymentErrorCode, Disposition> = {
  /** Timeout, 5xx, connection error or open breaker: the step waits in delayed retry (no attempt used up). */
  gateway_unavailable: 'defer',
  /** A capture/void waited PAYMENT_MAX_WAIT_MS for the gateway: parked for an operator to replay. */
  gateway_wait_exhausted: 'dead-letter',
  /** The gateway refused a capture/void (4xx): retrying will not help, an operator must look. */
  gateway_refused: 'dead-letter',
  /** The gateway answered something we cannot read. */
  gateway_protocol: 'dead-letter',
};

/** The payments module's one error type. */
export class PaymentError extends Error implements HasDisposition {
  readonly disposition: Disposition;
  constructor(readonly code: PaymentErrorCode, message: string) {
    super(message);
    this.name = 'PaymentError';
    this.disposition = DISPOSITIONS[code];
  }
}
