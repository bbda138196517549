import type { TotalsV1 } from '@orders/contracts';

/** An order's money, as every message and the read model carry it (integer minor units, up to 10^12). */
export type Totals = Pick<TotalsV1, 'subtotalCents' | 'discountCents' | 'totalCents' | 'currency'>;

export function subtotalOf(lines: ReadonlyArray<{ quantity: number; unitPriceCents: number }>): number {
  return lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
}

export function totalsOf(subtotalCents: number, discountCents: number, currency: string): Totals {
  return { subtotalCents, discountCents, totalCents: subtotalCents - discountCents, currency };
}
