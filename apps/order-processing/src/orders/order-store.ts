import { Injectable, Logger } from '@nestjs/common';
import { CustomerV1, Envelope, OrderStatus, PayloadOf, PlacementLane, PricedLineV1, StatusLineV1 } from '@orders/contracts';
import { derivedId } from '@orders/platform';
import { inboxSeenSql, type Tx } from '@orders/messaging';
import { advisoryXactLock, poolOf, prepared, type Prepared, ResultRow, Sql, sqlOf, type Statement } from '@orders/persistence';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import type { Totals } from './totals';
import { OrderError } from './order.error';
import { AdmissionLimits, InFlight, inFlightColumns } from './admission';
import { observeFinal } from './order-metrics';
import { canTransition, isFinal } from './state-machine';

/** The id of an order's event for `status` when it is sent with a delay (so a later step can withdraw it: OrderLifecycle.start). */
export const delayedStatusEventId = (orderId: string, status: OrderStatus): string => derivedId(`status-event:${orderId}:${status}`);

/** An order as order-processing keeps it. */
export interface Order {
  id: string;
  tenantId: string;
  status: OrderStatus;
  sequence: number;
  reason: string | null;
  /** Missing only for an order recorded from a placement that could not be read. */
  customer?: CustomerV1;
  /** The ordered lines; with name and unit price once inventory priced them. */
  items: StatusLineV1[];
  couponCode: string | null;
  /** The admission lane its placement came in; its status events carry it (routing). */
  lane: PlacementLane;
  paymentToken: string;
  totals: Totals | null;
  reserved: boolean;
  authorizationId: string | null;
  placedAt: Date;
  /**
   * Status events of this order sent with a delay and taken back by this
   * step (SagaService.onOrder): the final event carries them (`earlier`);
   * any the step does not carry are sent again as they were.
   */
  withdrawn?: Array<Envelope<'order.status-changed.v1'>>;
  /** Whether other orders of its tenant were waiting for admission when this one was locked (lockStatement); undefined when not read. */
  tenantWaiting?: boolean;
}

interface Row {
  id: string;
  tenant_id: string;
  status: OrderStatus;
  sequence: number;
  reason: string | null;
  customer: CustomerV1 | null;
  items: StatusLineV1[];
  coupon_code: string | null;
  lane: PlacementLane;
  payment_token: string;
  currency: string | null;
  /** bigint columns arrive as strings */
  subtotal_cents: string | null;
  discount_cents: string | null;
  total_cents: string | null;
  reserved: boolean;
  authorization_id: string | null;
  placed_at: Date;
  tenant_waiting?: boolean;
}

const COLUMNS = `id, tenant_id, status, sequence, reason, customer, items, coupon_code, lane, payment_token, currency,
  subtotal_cents, discount_cents, total_cents, reserved, authorization_id, placed_at`;

/** The hot path's statements, prepared once per connection (@orders/persistence, prepared.ts). */
const SQL = {
  insertPlaced: prepared(
    'orders_insert_placed',
    `WITH placed AS (
       INSERT INTO orders (id, tenant_id, status, sequence, customer, items, coupon_code, shipping_address, payment_token, placed_at, lane)
       VALUES ($1, $2, 'PENDING', 1, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}
     ), history AS (
       INSERT INTO order_history (order_id, sequence, status, at) SELECT id, 1, 'PENDING', placed_at FROM placed
     ), cancel AS (
       DELETE FROM early_cancels WHERE order_id = $1 AND EXISTS (SELECT 1 FROM placed) RETURNING order_id
     ) SELECT ${COLUMNS}, EXISTS (SELECT 1 FROM cancel) AS early_cancel,
         ${inFlightColumns(2)},
         EXISTS (SELECT 1 FROM orders WHERE tenant_id = $2 AND status = 'PENDING') AS waiting
       FROM placed`,
    ['uuid', 'text', 'jsonb', 'jsonb', 'text', 'jsonb', 'text', 'timestamptz', 'text'],
  ),
  lock: prepared(
    'orders_lock',
    `SELECT ${COLUMNS},
       EXISTS (SELECT 1 FROM orders w WHERE w.tenant_id = orders.tenant_id AND w.status = 'PENDING') AS tenant_waiting
     FROM orders WHERE id = $1 FOR UPDATE OF orders`,
    ['uuid'],
  ),
  beforeGatewayCall: prepared(
    'orders_before_gateway_call',
    `WITH s AS (SELECT ${inboxSeenSql(2, 3)} AS seen) SELECT o.*, s.seen FROM s LEFT JOIN (SELECT ${COLUMNS} FROM orders WHERE id = $1) o ON true`,
    ['uuid', 'uuid', 'text'],
  ),
  setPriced: prepared(
    'orders_set_priced',
    `UPDATE orders SET items = $2, currency = $3, subtotal_cents = $4, discount_cents = $5, total_cents = $6, reserved = true,
       authorization_id = coalesce($7, authorization_id), updated_at = now()
     WHERE id = $1`,
    ['uuid', 'jsonb', 'text', 'bigint', 'bigint', 'bigint', 'text'],
  ),
  setReserved: prepared('orders_set_reserved', 'UPDATE orders SET reserved = $2, updated_at = now() WHERE id = $1', ['uuid', 'boolean']),
  rememberEarlyCancel: prepared(
    'orders_remember_early_cancel',
    'INSERT INTO early_cancels (order_id, tenant_id, requested_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    ['uuid', 'text', 'timestamptz'],
  ),
  admissible: prepared(
    'orders_admissible',
    `WITH f AS (SELECT ${inFlightColumns(1)}),
     room AS (
       SELECT greatest(0, CASE WHEN f.others_in_flight OR $5 THEN least($3 - f.in_flight, $4) ELSE $2 - f.in_flight END) AS n FROM f
     ), waiting AS (
       SELECT ${COLUMNS} FROM orders WHERE tenant_id = $1 AND status = 'PENDING' ORDER BY placed_at, id
       LIMIT (SELECT n FROM room) FOR UPDATE SKIP LOCKED
     ) SELECT f.in_flight, f.others_in_flight, waiting.* FROM f LEFT JOIN waiting ON true`,
    ['text', 'int', 'int', 'int', 'boolean'],
  ),
  transition: prepared(
    'orders_transition',
    `WITH moved AS (
       UPDATE orders SET status = $2, reason = CASE WHEN $4 THEN $3 ELSE reason END, sequence = $5, updated_at = $6
       WHERE id = $1 RETURNING id
     ) INSERT INTO order_history (order_id, sequence, status, reason, at) SELECT id, $5, $2, $3, $6 FROM moved`,
    ['uuid', 'text', 'text', 'boolean', 'int', 'timestamptz'],
  ),
};

function toOrder(r: Row): Order {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    status: r.status,
    sequence: r.sequence,
    reason: r.reason,
    ...(r.customer ? { customer: r.customer } : {}),
    items: r.items,
    couponCode: r.coupon_code,
    lane: r.lane,
    paymentToken: r.payment_token,
    totals: r.subtotal_cents === null
      ? null
      : { subtotalCents: Number(r.subtotal_cents), discountCents: Number(r.discount_cents ?? 0), totalCents: Number(r.total_cents ?? r.subtotal_cents), currency: r.currency! },
    reserved: r.reserved,
    authorizationId: r.authorization_id,
    placedAt: new Date(r.placed_at),
    ...(r.tenant_waiting === undefined ? {} : { tenantWaiting: r.tenant_waiting }),
  };
}

const refusedTransitions = new Counter({
  name: 'order_transitions_refused_total',
  help: 'Status changes the state machine refused (never applied)',
  labelNames: ['from', 'to'],
});

export type StatusEvent = PayloadOf<'order.status-changed.v1'>;

/** A placement to store: the message's payload, or (an unreadable one) what identifies its order. */
export type Placement = PayloadOf<'order.placed.v1'> | { orderId: string; tenantId: string; placedAt: string; customer?: undefined };

/** A stored placement, with what its admission needs. */
export interface Placed {
  order: Order;
  earlyCancel: boolean;
  inFlight: InFlight;
  tenantWaiting: boolean;
}

/** History of an order as recorded here: one row per status, in sequence. */
export interface HistoryEntry {
  sequence: number;
  status: OrderStatus;
  reason: string | null;
  at: Date;
}

/** The orders table: plain SQL, one statement per step where it can. */
@Injectable()
export class OrderStore {
  private readonly logger = new Logger('Order');
  private readonly db: Sql;

  constructor(ds: DataSource) {
    this.db = sqlOf(poolOf(ds));
  }

  /**
   * Stores a placed order as PENDING (sequence 1, as order-receiving wrote
   * it), and in the same statement takes a cancel remembered for it
   * (early_cancels), counts its tenant's orders in flight (and sees whether
   * another tenant has any) and sees whether others of its orders wait.
   * Undefined if the order is already known.
   */
  async insertPlaced(tx: Tx, p: Placement): Promise<Placed | undefined> {
    const s = this.insertPlacedStatement(p);
    return this.placedFrom(await tx.query(s.prepared, s.params));
  }

  /**
   * insertPlaced as a statement, for the round trip that opens the
   * placement's transaction (after its arrival lock); read it with placedFrom.
   */
  insertPlacedStatement(p: Placement): { readonly prepared: Prepared; readonly params: readonly unknown[] } {
    const full = 'items' in p ? p : undefined;
    return {
      prepared: SQL.insertPlaced,
      params: [
        p.orderId, p.tenantId, JSON.stringify(full ? full.customer : null), JSON.stringify(full ? full.items.map((i) => ({ sku: i.sku, quantity: i.quantity })) : []),
        full?.couponCode ?? null, full ? JSON.stringify(full.shippingAddress) : '{}', full?.payment.token ?? '', p.placedAt, full?.lane ?? 'quiet',
      ],
    };
  }

  /** What insertPlacedStatement returned. */
  placedFrom(rows: readonly ResultRow[]): Placed | undefined {
    const r = rows[0] as unknown as (Row & { early_cancel: boolean; in_flight: number; others_in_flight: boolean; waiting: boolean }) | undefined;
    return r ? { order: toOrder(r), earlyCancel: r.early_cancel, inFlight: { mine: r.in_flight, others: r.others_in_flight }, tenantWaiting: r.waiting } : undefined;
  }

  /**
   * The statement that reads and locks the order row for the rest of the
   * transaction (after the per-order arrival lock, see arrivalLockStatement, with
   * `afterArrival`), and whether its tenant has orders waiting, with literal
   * values: a step sends it in the round trip that opens its transaction.
   */
  lockStatement(orderId: string, afterArrival = false): Statement[] {
    const lock: Statement = { prepared: SQL.lock, params: [orderId] };
    return afterArrival ? [this.arrivalLockStatement(orderId), lock] : [lock];
  }

  /** Reads and locks the order row in a transaction already open (undefined: not known). */
  async lockInTransaction(tx: Tx, orderId: string): Promise<Order | undefined> {
    return this.lockedIfKnown([await tx.query(SQL.lock, [orderId])]);
  }

  /** The order lockStatement read; an unknown order is retried later. */
  locked(results: ResultRow[][], orderId: string): Order {
    const order = this.lockedIfKnown(results);
    if (!order) throw new OrderError('order_unknown', `order ${orderId} is not known (yet)`);
    return order;
  }

  /** Like locked(), but an unknown order is undefined (its placement has not arrived). */
  lockedIfKnown(results: ResultRow[][]): Order | undefined {
    const row = results.at(-1)?.[0];
    return row ? toOrder(row as unknown as Row) : undefined;
  }

  /** Reads without a lock, outside any transaction. */
  async find(orderId: string): Promise<Order | undefined> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM orders WHERE id = $1`, [orderId]);
    return rows[0] ? toOrder(rows[0]) : undefined;
  }

  /**
   * Before the gateway call of a step, outside any transaction, in one
   * statement: whether the step was handled already (`seen`: the message's
   * inbox key, UnitOfWork.seenKey) and the order as it is.
   */
  async beforeGatewayCall(orderId: string, seen: readonly [messageId: string, queue: string]): Promise<{ seen: boolean; order?: Order }> {
    const rows = await this.db.query<Partial<Row> & { seen: boolean }>(SQL.beforeGatewayCall, [orderId, ...seen]);
    const r = rows[0];
    return { seen: r.seen, ...(r.id ? { order: toOrder(r as Row) } : {}) };
  }

  /** Records the reservation with the priced lines and totals (and the authorization, if any). */
  setPriced(tx: Tx, order: Order, lines: PricedLineV1[], totals: Totals, authorizationId: string | null = null): void {
    const items: StatusLineV1[] = lines.map((l) => ({ sku: l.sku, quantity: l.quantity, name: l.name, unitPriceCents: l.unitPriceCents }));
    tx.later(
      SQL.setPriced,
      [order.id, JSON.stringify(items), totals.currency, totals.subtotalCents, totals.discountCents, totals.totalCents, authorizationId],
    );
    Object.assign(order, { items, totals, reserved: true, authorizationId: authorizationId ?? order.authorizationId });
  }

  /**
   * The statement (literal values) that serializes, per order, a placement
   * and a cancel handled at the same moment (they come on different queues):
   * without it, a cancel could look for the order before the placement
   * commits, and the placement for the remembered cancel before the cancel
   * commits, and the cancel would be lost. A step sends it in the round trip
   * that opens its transaction.
   */
  arrivalLockStatement(orderId: string): Statement {
    return advisoryXactLock(`order-arrival:${orderId}`);
  }

  /** Remembers a cancel for an order whose order.placed has not arrived yet (once). */
  rememberEarlyCancel(tx: Tx, orderId: string, tenantId: string, requestedAt: string): void {
    tx.later(SQL.rememberEarlyCancel, [orderId, tenantId, requestedAt]);
  }

  /** Whether a cancel is remembered for an order not known yet. */
  async hasEarlyCancel(orderId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM early_cancels WHERE order_id = $1', [orderId])).length > 0;
  }

  /**
   * The tenant's oldest waiting (PENDING) orders that may start now, locked
   * (skipping those another transaction is starting or cancelling), and its
   * orders in flight as they were: the room (TenantAdmission.roomBeside's
   * rule, from `limits`) is worked out in the same statement.
   */
  async lockAdmissible(tx: Tx, tenantId: string, limits: AdmissionLimits): Promise<{ inFlight: InFlight; waiting: Order[] }> {
    const rows = await tx.query<Partial<Row> & { in_flight: number; others_in_flight: boolean }>(
      SQL.admissible, [tenantId, limits.cap, limits.sharedCap, limits.tokens ?? 2_147_483_647, limits.sharedByActivity],
    );
    const inFlight = { mine: rows[0].in_flight, others: rows[0].others_in_flight };
    return { inFlight, waiting: rows.filter((r) => r.id).map((r) => toOrder(r as Row)) };
  }

  /** Up to `limit` orders not final and placed before `olderThanMs` ago, locked (skipping those a step holds right now). */
  async lockOverdue(tx: Tx, olderThanMs: number, limit: number): Promise<Order[]> {
    const rows = await tx.query<Row>(
      `SELECT ${COLUMNS} FROM orders WHERE status IN ('PENDING', 'PROCESSING') AND placed_at < now() - make_interval(secs => $1::double precision / 1000)
       ORDER BY placed_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [olderThanMs, limit],
    );
    return rows.map(toOrder);
  }

  setReserved(tx: Tx, order: Order, reserved: boolean): void {
    tx.later(SQL.setReserved, [order.id, reserved]);
    order.reserved = reserved;
  }

  /**
   * Moves a locked order to `to` if the state machine allows it (bumps its
   * sequence, records it in order_history in the same statement) and returns
   * the status events to publish: the new status, preceded by PENDING's when
   * the order leaves PENDING (an order waiting for admission puts nothing in
   * the status queues). Staying at the same status records a note in its
   * history (a refused cancel or capture). An illegal move is refused and
   * logged, never applied: no events.
   */
  async transition(tx: Tx, order: Order, to: OrderStatus, reason?: string): Promise<StatusEvent[]> {
    const moving = to !== order.status;
    if (moving && !canTransition(order.status, to)) {
      this.logger.warn(`order ${order.id}: refused ${order.status} → ${to}${reason ? ` (${reason})` : ''}`);
      refusedTransitions.inc({ from: order.status, to });
      return [];
    }
    const events = moving && order.status === 'PENDING' ? [this.event(order, order.placedAt)] : [];
    const earlier = moving && isFinal(to) && order.withdrawn?.length ? order.withdrawn.splice(0) : [];
    // the row is locked (every caller holds it): its next sequence is known, and the write needs no round trip of its own
    const sequence = order.sequence + 1;
    const at = new Date();
    tx.later(SQL.transition, [order.id, to, reason ?? null, moving, sequence, at]);
    Object.assign(order, { status: to, sequence, ...(moving ? { reason: reason ?? null } : {}) });
    const placedAt = order.placedAt;
    if (moving && isFinal(to)) tx.afterCommit(() => observeFinal(to, placedAt));
    const event = this.event(order, at, reason);
    if (earlier.length) {
      event.earlier = earlier.map(({ id, payload: e }) => ({ eventId: id, status: e.status, sequence: e.sequence, at: e.at, ...(e.reason ? { reason: e.reason } : {}) }));
    }
    return [...events, event];
  }

  /** The order's current status, with the full snapshot, as order.status-changed.v1. */
  private event(order: Order, at: Date, reason?: string): StatusEvent {
    return {
      orderId: order.id,
      tenantId: order.tenantId,
      status: order.status,
      ...(reason ? { reason } : {}),
      sequence: order.sequence,
      at: at.toISOString(),
      ...(order.customer ? { customer: order.customer } : {}),
      items: order.items,
      ...(order.totals ? { totals: order.totals } : {}),
      ...(order.couponCode ? { couponCode: order.couponCode } : {}),
      ...(order.lane === 'bulk' ? { lane: 'bulk' as const } : {}),
    };
  }

  async history(orderId: string): Promise<HistoryEntry[]> {
    return this.db.query<HistoryEntry & ResultRow>('SELECT sequence, status, reason, at FROM order_history WHERE order_id = $1 ORDER BY sequence', [orderId]);
  }
}
