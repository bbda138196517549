import { InvalidMessageError } from '@orders/contracts';

/** What the transport does with a message whose handler failed. */
export type Disposition = 'retry' | 'dead-letter' | 'drop';

/** Module errors that know their disposition implement this; anything else is retried. */
export interface HasDisposition {
  disposition: Disposition;
}

export function dispositionOf(err: unknown): Disposition {
  if (err instanceof InvalidMessageError) return 'dead-letter';
  const d = (err as Partial<HasDisposition> | null)?.disposition;
  return d === 'dead-letter' || d === 'drop' || d === 'retry' ? d : 'retry';
}

export function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.slice(0, 1000);
}
