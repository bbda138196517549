import type { PricedLineV1, ReservationRejection } from '@orders/contracts';
import type { Tx } from '@orders/messaging';
import { advisoryXactLock, prepared, type Prepared, Sql, sqlLiteral, type Statement } from '@orders/persistence';
import type { Quantities, StockRow } from './reservation-rules';

/**
 * The SQL of stock and reservations. Product rows are always locked in sku
 * order before they change, and a reservation row before its products, so
 * concurrent commands queue behind each other instead of deadlocking.
 */

export type ReservationStatus = 'reserved' | 'rejected' | 'committed' | 'released' | 'expired' | 'returned' | 'unfilled';

export interface ReservationRow {
  tenantId: string;
  status: ReservationStatus;
  rejectReason: ReservationRejection | null;
  rejectSkus: string[] | null;
  currency: string | null;
  lines: PricedLineV1[];
  expiresAt: Date | null;
  /** Still 'reserved' but past its expiry (the sweep has not got to it yet). */
  overdue: boolean;
}

const PRODUCT_COLUMNS = `sku, name, price_cents AS "priceCents", currency, stock, reserved`;

const LOCK_PRODUCTS = prepared('stock_lock_products', `SELECT ${PRODUCT_COLUMNS} FROM products WHERE sku = ANY($1) ORDER BY sku FOR UPDATE`, ['text[]']);

export async function lockProducts(m: Sql, skus: string[]): Promise<StockRow[]> {
  return m.query<StockRow>(LOCK_PRODUCTS, [skus]);
}

const MOVES = {
  /** Hold units for an order; never more than are available. */
  reserve: { set: 'reserved = p.reserved + w.qty', guard: 'p.stock - p.reserved >= w.qty' },
  /** Give held units back. */
  release: { set: 'reserved = p.reserved - w.qty', guard: 'p.reserved >= w.qty' },
  /** Held units leave the warehouse. */
  sell: { set: 'stock = p.stock - w.qty, reserved = p.reserved - w.qty', guard: 'p.reserved >= w.qty' },
  /** Sold units come back (the order was cancelled or failed after its commit). */
  restock: { set: 'stock = p.stock + w.qty', guard: 'true' },
  /** Units leave the warehouse without having been held (a confirmed order whose hold had expired): only if available. */
  sellAvailable: { set: 'stock = p.stock - w.qty', guard: 'p.stock - p.reserved >= w.qty' },
} as const;

/**
 * Sells what a confirmed order needs when its hold is gone (expired, or
 * never recorded): from the units available, all or nothing, never below
 * zero. False, and nothing moved, when they are not all there.
 */
export async function sellAvailable(m: Tx, want: Quantities, orderId: string): Promise<boolean> {
  const bySku = new Map((await lockProducts(m, want.skus)).map((p) => [p.sku, p]));
  const there = want.skus.every((sku, i) => {
    const p = bySku.get(sku);
    return !!p && p.stock - p.reserved >= want.quantities[i];
  });
  if (!there) return false;
  await moveStock(m, want, 'sellAvailable', { locked: true, status: { orderId, to: 'committed' } });
  return true;
}

/**
 * Moves stock for every sku in one statement. Unless every sku's row changed,
 * the whole transaction fails (and is retried): stock is never half-moved.
 * The rows are locked first in sku order (skip with `locked` when the caller
 * already holds them, or the set of skus it locked), so this cannot happen in normal operation; the guard
 * and the table's CHECK constraints are the backstop. `status`: the order's
 * reservation gets it in the same statement (one round trip less).
 */
export async function moveStock(
  m: Tx, want: Quantities, move: keyof typeof MOVES, o: { locked?: boolean | ReadonlySet<string>; status?: { orderId: string; to: ReservationStatus } } = {},
): Promise<void> {
  if (want.skus.length === 0) {
    if (o.status) setStatus(m, o.status.orderId, o.status.to);
    return;
  }
  const locked = o.locked instanceof Set ? want.skus.every((sku) => o.locked instanceof Set && o.locked.has(sku)) : !!o.locked;
  if (!locked) await lockProducts(m, want.skus);
  // with the transaction's next round trip: the products are locked, so every row moves; if one did not, the statement fails (allMovedSql)
  m.later(moveStatement(move, !!o.status), o.status ? [want.skus, want.quantities, o.status.orderId, o.status.to] : [want.skus, want.quantities]);
}

const moves = new Map<string, Prepared>();

/** The prepared statement of a move (with the reservation's new status as $3, $4, or without). */
function moveStatement(move: keyof typeof MOVES, withStatus: boolean): Prepared {
  const name = `stock_${move.toLowerCase()}${withStatus ? '_status' : ''}`;
  let p = moves.get(name);
  if (!p) {
    const status = withStatus ? ', status AS (UPDATE reservations SET status = $4, updated_at = now() WHERE order_id = $3)' : '';
    p = prepared(name, `WITH ${movedCte(move)}${status} ${allMovedSql(move)}`, withStatus ? ['text[]', 'int[]', 'uuid', 'text'] : ['text[]', 'int[]']);
    moves.set(name, p);
  }
  return p;
}

/** The CTE `moved` that moves stock for skus $1 by quantities $2 where the move's guard holds, a row per product moved. */
function movedCte(move: keyof typeof MOVES): string {
  const { set, guard } = MOVES[move];
  return `moved AS (
       UPDATE products p SET ${set}, updated_at = now()
         FROM unnest($1::text[], $2::int[]) AS w(sku, qty)
        WHERE p.sku = w.sku AND ${guard}
        RETURNING 1
     )`;
}

/**
 * Stock is never half-moved: the SELECT that ends a move's statement fails it
 * (the cast of a text that is not a number: the error names the move) unless
 * every sku's row changed (one per element of $1, distinct skus), and the
 * whole transaction with it (it is retried).
 */
function allMovedSql(move: keyof typeof MOVES): string {
  return `SELECT CASE WHEN (SELECT count(*) FROM moved) = cardinality($1::text[]) THEN 0
    ELSE (SELECT ${sqlLiteral(`stock_changed: ${move} did not move every product`)}::text)::int END AS all_moved`; // a subquery: never folded at planning
}

const RESERVATION_COLUMNS = `tenant_id AS "tenantId", status, reject_reason AS "rejectReason", reject_skus AS "rejectSkus",
  currency, lines, expires_at AS "expiresAt", (status = 'reserved' AND expires_at <= now()) AS overdue`;

const LOCK_RESERVATION = prepared('stock_lock_reservation', `SELECT ${RESERVATION_COLUMNS} FROM reservations WHERE order_id = $1 FOR UPDATE`, ['uuid']);

/**
 * The statement that locks the order's reservation for the rest of the
 * transaction: a command sends it in the round trip that opens its
 * transaction (UnitOfWork.handleOnce `first`).
 */
export const lockReservationStatement = (orderId: string): Statement => ({ prepared: LOCK_RESERVATION, params: [orderId] });

/**
 * A reserve command's locks, for the round trip that opens its transaction:
 * the order (serializing its reserve commands: a reservation row may not
 * exist yet to lock), its reservation, then its products in sku order. Read
 * them back with reserveLocked.
 */
export const reserveLocksStatement = (orderId: string, skus: string[]): Statement[] => [
  advisoryXactLock(`inventory.reserve:${orderId}`),
  lockReservationStatement(orderId),
  { prepared: LOCK_PRODUCTS, params: [skus] },
];

/** The reservation lockReservationStatement read (undefined: none). */
export const lockedReservation = (results: unknown[][]): ReservationRow | undefined => results[0][0] as ReservationRow | undefined;

/**
 * A commit's locks, for the round trip that opens its transaction: its
 * reservation, then (when the command names them) its products in sku
 * order, as reserveLocksStatement takes them. Read them back with
 * commitLocked: `productsLocked` holds the skus whose rows are locked.
 */
export const commitLocksStatement = (orderId: string, skus: readonly string[] | undefined): Statement[] =>
  skus?.length ? [lockReservationStatement(orderId), { prepared: LOCK_PRODUCTS, params: [[...skus]] }] : [lockReservationStatement(orderId)];

export function commitLocked(results: unknown[][], skus: readonly string[] | undefined): { reservation?: ReservationRow; productsLocked: ReadonlySet<string> } {
  return { reservation: lockedReservation(results), productsLocked: new Set(results.length > 1 ? skus : []) };
}

export function reserveLocked(results: unknown[][]): { existing?: ReservationRow; products: StockRow[] } {
  return { existing: results[1][0] as ReservationRow | undefined, products: results[2] as StockRow[] };
}

/**
 * Holds the units (products already locked: reserveLocksStatement) and
 * records the reservation, in one statement; fails like moveStock unless
 * every sku's row changed. Returns when the reservation expires.
 */
const RESERVE = prepared(
  'stock_reserve',
  `WITH ${movedCte('reserve')}, reservation AS (
     INSERT INTO reservations (order_id, tenant_id, status, currency, lines, expires_at) VALUES ($3, $4, 'reserved', $5, $6::jsonb, $7)
   ) ${allMovedSql('reserve')}`,
  ['text[]', 'int[]', 'uuid', 'text', 'text', 'jsonb', 'timestamptz'],
);
const INSERT_REJECTED = prepared(
  'stock_insert_rejected',
  `INSERT INTO reservations (order_id, tenant_id, status, reject_reason, reject_skus) VALUES ($1, $2, 'rejected', $3, $4::text[])`,
  ['uuid', 'text', 'text', 'text[]'],
);
const SET_STATUS = prepared('stock_set_status', 'UPDATE reservations SET status = $2, updated_at = now() WHERE order_id = $1', ['uuid', 'text']);

export function reserveStock(
  m: Tx,
  want: Quantities,
  r: { orderId: string; tenantId: string; currency: string; lines: PricedLineV1[]; expiresAt: Date },
): void {
  m.later(
    RESERVE,
    [want.skus, want.quantities, r.orderId, r.tenantId, r.currency, JSON.stringify(r.lines), r.expiresAt],
  );
}

export function insertRejected(
  m: Tx,
  r: { orderId: string; tenantId: string; reason: ReservationRejection; skus: string[] },
): void {
  m.later(INSERT_REJECTED, [r.orderId, r.tenantId, r.reason, r.skus]);
}

export function setStatus(m: Tx, orderId: string, status: ReservationStatus): void {
  m.later(SET_STATUS, [orderId, status]);
}

/** Marks up to `limit` overdue reservations expired (skipping any a command holds) and returns their lines. */
export async function expireOverdue(m: Sql, limit: number): Promise<PricedLineV1[][]> {
  const rows = await m.query<{ lines: PricedLineV1[] }>(
    `UPDATE reservations SET status = 'expired', updated_at = now()
      WHERE order_id IN (
        SELECT order_id FROM reservations WHERE status = 'reserved' AND expires_at <= now()
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING lines`,
    [limit],
  );
  return rows.map((r) => r.lines);
}

/** Milliseconds until the next open reservation expires (negative if overdue), or null when none is open. */
export async function msToNextExpiry(m: Sql): Promise<number | null> {
  const rows = await m.query<{ ms: number | null }>(
    `SELECT (extract(epoch FROM min(expires_at) - clock_timestamp()) * 1000)::float8 AS ms FROM reservations WHERE status = 'reserved'`,
  );
  return rows[0]?.ms ?? null;
}
