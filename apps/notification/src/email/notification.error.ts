import type { Disposition, HasDisposition } from '@orders/messaging';

export type NotificationErrorCode = 'send_failed';

const DISPOSITION: Record<NotificationErrorCode, Disposition> = {
  /**
   * The SMTP server refused the message (a permanent 5xx): retried, then
   * dead-lettered. SMTP unreachable or answering a temporary 4xx is an
   * outage (the cause is an infrastructure error): the transport defers it
   * for as long as that lasts, using up no attempt.
   */
  send_failed: 'retry',
};

/** The notification module's one error type; each code maps to one transport disposition. */
export class NotificationError extends Error implements HasDisposition {
  readonly disposition: Disposition;
  constructor(readonly code: NotificationErrorCode, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'NotificationError';
    this.disposition = DISPOSITION[code];
  }
}
