import type { Disposition, HasDisposition } from '@orders/messaging';

export type NotificationErrorCode = 'send_failed' | 'smtp_unavailable' | 'send_deferred';

const DISPOSITION: Record<NotificationErrorCode, Disposition> = {
  /** The SMTP server refused the message for good (5xx), or a temporary refusal outlasted EMAIL_TEMP_FAILURE_MAX_MS: retried, then dead-lettered. */
  send_failed: 'retry',
  /** SMTP unreachable, or answering 421 (service not available): an outage, waited out however long it lasts. */
  smtp_unavailable: 'defer',
  /** A temporary refusal of this message or recipient (4xx): tried again later, for at most EMAIL_TEMP_FAILURE_MAX_MS. */
  send_deferred: 'defer',
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

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'ESOCKET', 'ECONNECTION', 'ETIMEOUT', 'EDNS']);

/** What a failed SMTP send means: the server away (an outage), a temporary refusal of this message (4xx), or a permanent one. */
export function classifySmtpFailure(err: unknown): 'unavailable' | 'temporary' | 'permanent' {
  const e = (err ?? {}) as { code?: unknown; responseCode?: unknown };
  if (typeof e.code === 'string' && UNREACHABLE.has(e.code)) return 'unavailable';
  if (e.responseCode === 421) return 'unavailable';
  if (typeof e.responseCode === 'number' && e.responseCode >= 400 && e.responseCode < 500) return 'temporary';
  return 'permanent';
}
