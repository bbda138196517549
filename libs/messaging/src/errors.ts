import { isDatabaseUnavailable } from '@orders/persistence';

/**
 * What the transport does with a message whose handler failed:
 * - 'retry': again after the next retry delay; after the last, dead-lettered;
 * - 'dead-letter': parked at once (announced: see MessagingOptions.announceDeadLetter);
 * - 'drop': acknowledged and forgotten;
 * - 'defer': the work cannot be done yet for a reason outside the message (a
 *   dependency down, an open circuit breaker): it comes back through the
 *   defer tiers without using up an attempt, however long that lasts, and the
 *   handler decides when it has waited enough (MessageContext.firstAttemptAt).
 */
export type Disposition = 'retry' | 'dead-letter' | 'drop' | 'defer';

/** Errors that know their disposition (each module's error type) implement this. */
export interface HasDisposition {
  disposition: Disposition;
}

const BROKER_UNAVAILABLE = [/broker not connected/i, /^not connected$/i, /channel (closed|ended)/i, /Connection lost|Socket closed/i];

/** Whether an error means the broker (or the channel to it) is unavailable right now. */
export function isBrokerUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const e = err as { message?: unknown; cause?: unknown };
  if (typeof e.message === 'string' && BROKER_UNAVAILABLE.some((re) => re.test(e.message as string))) return true;
  return isBrokerUnavailable(e.cause, depth + 1);
}

/** A dependency of every handler (its database, the broker) is unavailable: wait, never use up an attempt. */
export const isDependencyUnavailable = (err: unknown): boolean => isDatabaseUnavailable(err) || isBrokerUnavailable(err);

/** An error's own disposition; otherwise 'defer' while a dependency is unavailable, else 'retry'. */
export function dispositionOf(err: unknown): Disposition {
  const d = (err as Partial<HasDisposition> | null)?.disposition;
  if (d === 'dead-letter' || d === 'drop' || d === 'defer' || d === 'retry') return d;
  return isDependencyUnavailable(err) ? 'defer' : 'retry';
}

/** A message that cannot be read (not an envelope, unknown name, invalid payload): dead-lettered at once. */
export class UnreadableMessage extends Error implements HasDisposition {
  readonly disposition = 'dead-letter' as const;
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'UnreadableMessage';
  }
}

export function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.slice(0, 1000);
}
