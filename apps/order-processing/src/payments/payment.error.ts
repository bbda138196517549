import type { Disposition, HasDisposition } from '@orders/messaging';

export type PaymentErrorCode = 'gateway_unavailable' | 'authorization_unsettled' | 'gateway_refused' | 'gateway_protocol';

/** What the transport does with a failed payment step. */
const DISPOSITIONS: Record<PaymentErrorCode, Disposition> = {
  /** Timeout, 5xx, connection error or open breaker: the step waits in delayed retry (no attempt used up). */
  gateway_unavailable: 'defer',
  /** A void found no authorization yet, but the last authorize attempt may still be answered: look again later. */
  authorization_unsettled: 'defer',
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
