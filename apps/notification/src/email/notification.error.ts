import type { Disposition, HasDisposition } from '@orders/messaging';

export type NotificationErrorCode = 'send_failed';

const DISPOSITION: Record<NotificationErrorCode, Disposition> = {
  /** SMTP down or refusing: try again later; after the last retry the event is dead-lettered. */
  send_failed: 'retry',
};

/** The notification module's one error type; each code maps to one transport disposition. */
export class NotificationError extends Error implements HasDisposition {
  readonly disposition: Disposition;
  constructor(readonly code: NotificationErrorCode, message: string) {
    super(message);
    this.name = 'NotificationError';
    this.disposition = DISPOSITION[code];
  }
}
