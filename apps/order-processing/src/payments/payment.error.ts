import type { Disposition, HasDisposition } from '@orders/messaging';

export type PaymentErrorCode = 'gateway_unavailable' | 'gateway_refused' | 'gateway_protocol';

/** What the transport does with the order step (authorize) whose gateway call failed; captures and voids are jobs (SettlementJobs). */
const DISPOSITIONS: Record<PaymentErrorCode, Disposition> = {
  /** Timeout, 5xx, connection error or open breaker: the step waits in delayed retry (no attempt used up). */
  gateway_unavailable: 'defer',
  /** The gateway refused a call (4xx): retrying will not help. */
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
