import type { OrderLineV1, PricedLineV1, ReservationRejection } from '@orders/contracts';

/** What the reservation step needs to know about a product (read under a row lock). */
export interface StockRow {
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  stock: number;
  reserved: number;
}

/** Units per sku, duplicates summed, in the order the skus first appear. */
export interface Quantities {
  skus: string[];
  quantities: number[];
}

export type Decision =
  | { ok: true; lines: PricedLineV1[]; currency: string; want: Quantities }
  | { ok: false; reason: ReservationRejection; skus: string[] };

export function sumBySku(lines: ReadonlyArray<{ sku: string; quantity: number }>): Quantities {
  const totals = new Map<string, number>();
  for (const l of lines) totals.set(l.sku, (totals.get(l.sku) ?? 0) + l.quantity);
  return { skus: [...totals.keys()], quantities: [...totals.values()] };
}

/**
 * All or nothing: the order's lines are priced and reservable only if every
 * sku exists, all share one currency and each has enough available units
 * for the order's total quantity of it. The first failing rule wins, in that
 * order, and names every sku that breaks it.
 */
export function decideReservation(items: readonly OrderLineV1[], products: readonly StockRow[]): Decision {
  const want = sumBySku(items);
  const bySku = new Map(products.map((p) => [p.sku, p]));
  const unknown = want.skus.filter((s) => !bySku.has(s));
  if (unknown.length) return { ok: false, reason: 'unknown_product', skus: unknown };

  const currency = bySku.get(want.skus[0])!.currency;
  const foreign = want.skus.filter((s) => bySku.get(s)!.currency !== currency);
  if (foreign.length) return { ok: false, reason: 'mixed_currency', skus: foreign };

  const short = want.skus.filter((s, i) => {
    const p = bySku.get(s)!;
    return p.stock - p.reserved < want.quantities[i];
  });
  if (short.length) return { ok: false, reason: 'out_of_stock', skus: short };

  const lines = items.map((i) => {
    const p = bySku.get(i.sku)!;
    return { sku: i.sku, name: p.name, quantity: i.quantity, unitPriceCents: p.priceCents };
  });
  return { ok: true, lines, currency, want };
}
