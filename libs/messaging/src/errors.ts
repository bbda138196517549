import { InvalidMessageError } from '@orders/contracts';
import { isInfrastructureError } from '@orders/persistence';

/**
 * What the transport does with a message whose handler failed. 'defer': the
 * work cannot be done yet for a reason outside the message (say, an open
 * circuit breaker); it comes back through the defer delay tiers without
 * using up an attempt, and the handler decides when it has waited enough
 * (AmqpMessageContext.firstAttemptAt).
 */
export type Disposition = 'retry' | 'dead-letter' | 'drop' | 'defer';

/**
 * Module errors that know their disposition implement this. Anything else is
 * retried, except a dependency being unavailable (database, broker, SMTP,
 * network: isInfrastructureError), which is deferred: an outage never uses up
 * a message's attempts, however long it lasts.
 */
export interface HasDisposition {
  disposition: Disposition;
}

export function dispositionOf(err: unknown): Disposition {
  if (err instanceof InvalidMessageError) return 'dead-letter';
  const d = (err as Partial<HasDisposition> | null)?.disposition;
  if (d === 'dead-letter' || d === 'drop' || d === 'defer') return d;
  return isInfrastructureError(err) ? 'defer' : 'retry';
}

export function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.slice(0, 1000);
}
