import type { ConsumeMessage } from 'amqplib';

/** The AMQP headers the library writes and reads, in one place. */
export const PUBLISHED_AT_HEADER = 'x-published-at';
export const ATTEMPT_HEADER = 'x-attempt';
export const FIRST_ATTEMPT_HEADER = 'x-first-attempt-at';
export const DEFERRALS_HEADER = 'x-deferrals';
export const LAST_ERROR_HEADER = 'x-last-error';
export const REPLAYED_AT_HEADER = 'x-replayed-at';
export const REROUTED_FROM_HEADER = 'x-rerouted-from';
/** Set by quorum queues: how often the message went back to the queue unacknowledged. */
export const DELIVERY_COUNT_HEADER = 'x-delivery-count';
/** Written on a dead letter. */
export const DEAD_LETTER_HEADERS = {
  attempts: 'x-attempts',
  at: 'x-dead-lettered-at',
  queue: 'x-original-queue',
  routingKey: 'x-original-routing-key',
} as const;

/** What the transport reads from a delivery's headers. */
export interface DeliveryHeaders {
  attempt: number;
  firstAttemptAt: Date;
  deferrals: number;
  /** Whether it came back to the queue unacknowledged before (its consumer died or left while holding it). */
  returned: boolean;
}

export function deliveryHeaders(msg: ConsumeMessage): DeliveryHeaders {
  const h = msg.properties.headers ?? {};
  const first = new Date(String(h[FIRST_ATTEMPT_HEADER] ?? ''));
  return {
    attempt: Number(h[ATTEMPT_HEADER] ?? 1) || 1,
    firstAttemptAt: Number.isNaN(first.getTime()) ? new Date() : first,
    deferrals: Number(h[DEFERRALS_HEADER] ?? 0) || 0,
    returned: msg.fields.redelivered || (Number(h[DELIVERY_COUNT_HEADER] ?? 0) || 0) > 0,
  };
}

/**
 * A delivery's headers for its next copy (a retry, a deferral, a dead
 * letter): the broker's return count belongs to this delivery, not to the
 * copy, which starts afresh.
 */
export function headersForCopy(msg: ConsumeMessage, extra: Record<string, unknown>): Record<string, unknown> {
  const { [DELIVERY_COUNT_HEADER]: _returned, ...kept } = (msg.properties.headers ?? {}) as Record<string, unknown>;
  return { ...kept, ...extra };
}

/** The properties a copy of a delivery keeps. */
export function propertiesForCopy(msg: ConsumeMessage): { messageId?: string; type?: string; contentType?: string } {
  return { messageId: msg.properties.messageId, type: msg.properties.type, contentType: msg.properties.contentType };
}
