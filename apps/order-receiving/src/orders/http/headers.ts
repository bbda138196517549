import { OrdersError } from '../orders.error';

/** RFC 7240 `Prefer: wait=N`, clamped to MAX_WAIT_SECONDS; undefined when absent. */
export const MAX_WAIT_SECONDS = 30;
export function preferWaitSeconds(prefer: string | undefined): number | undefined {
  if (!prefer) return undefined;
  const m = /(?:^|[,;]\s*)wait\s*=\s*"?(\d{1,9})"?\s*(?:[,;]|$)/i.exec(prefer);
  if (!m) return undefined;
  return Math.min(Number(m[1]), MAX_WAIT_SECONDS);
}

const KEY_RE = /^[\x20-\x7e]{1,255}$/;
/** The Idempotency-Key header: required, 1..255 printable ASCII characters. */
export function checkIdempotencyKey(value: string | string[] | undefined): string {
  if (value === undefined || value === '') throw new OrdersError('idempotency_key_missing', 'the Idempotency-Key header is required');
  if (typeof value !== 'string' || !KEY_RE.test(value)) {
    throw new OrdersError('idempotency_key_invalid', 'the Idempotency-Key header must be 1-255 printable ASCII characters');
  }
  return value;
}

/** `Last-Event-ID` (header or query): the sequence to resume after, 0 when absent. */
export function lastEventId(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d{1,9}$/.test(raw)) throw new OrdersError('bad_last_event_id', 'Last-Event-ID must be a sequence number');
  return Number(raw);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID_RE.test(s);
