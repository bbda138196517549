import { Injectable } from '@nestjs/common';
import { Envelope, OrderStatus } from '@orders/contracts';
import type { CustomerDto, HistoryEntryDto, OrderDto, OrderEventDto, OrderLineDto, OrderListDto, OrderSummaryDto, TotalsDto } from '@orders/dto';
import { oneStatement, UnitOfWork } from '@orders/messaging';
import { DataSource } from 'typeorm';
import { OrdersError } from '../orders.error';
import { ORDER_EVENTS_CHANNEL } from '../push/order-events.hub';
import { decodeCursor, encodeCursor } from './cursor';

interface OrderRow {
  id: string;
  tenant_id: string;
  status: OrderStatus;
  sequence: number;
  customer: CustomerDto;
  items: OrderLineDto[];
  totals: TotalsDto | null;
  coupon_code: string | null;
  rejection_reason: string | null;
  created_at: Date;
  updated_at: Date;
  history: Array<{ status: OrderStatus; at: string; reason: string | null }>;
}

interface HistoryRow {
  sequence: number;
  status: OrderStatus;
  at: Date;
  reason: string | null;
  totals: TotalsDto | null;
}

const ORDER_SQL = `SELECT o.*, (
    SELECT coalesce(json_agg(json_build_object('status', h.status, 'at', h.at, 'reason', h.reason) ORDER BY h.sequence), '[]')
    FROM order_history h WHERE h.order_id = o.id) AS history
  FROM orders o WHERE o.id = $1`;

/** A status event's writes, gated on its inbox row (see onStatusChanged); `he`: the earlier statuses it carries. */
const APPLY_STATUS_CTES = `
ord AS (SELECT id FROM orders WHERE id = $3 AND tenant_id = $4),
h AS (
  INSERT INTO order_history (order_id, sequence, status, at, reason, totals)
  SELECT id, $5::int, $6::text, $7::timestamptz, $8::text, $9::jsonb FROM ord, inbox_row
  ON CONFLICT DO NOTHING RETURNING 1
), he AS (
  INSERT INTO order_history (order_id, sequence, status, at, reason)
  SELECT ord.id, e.sequence, e.status, e.at, e.reason FROM ord, inbox_row, jsonb_to_recordset($13::jsonb) AS e(sequence int, status text, at timestamptz, reason text)
  WHERE e.sequence > 1
  ON CONFLICT DO NOTHING
), u AS (
  UPDATE orders SET status = $6::text, sequence = $5::int, updated_at = $7::timestamptz,
    items = CASE WHEN jsonb_array_length($10::jsonb) > 0 AND ($11::boolean OR NOT jsonb_path_exists(items, '$[*].unitPriceCents'))
                 THEN $10::jsonb ELSE items END,
    totals = coalesce($9::jsonb, totals),
    rejection_reason = CASE WHEN $6::text IN ('REJECTED', 'FAILED') THEN $8::text END
  WHERE id = $3::uuid AND tenant_id = $4::text AND sequence < $5::int AND EXISTS (SELECT 1 FROM inbox_row)
  RETURNING 1
)`;
const APPLY_STATUS_SELECT = `
SELECT (SELECT count(*) FROM ord)::int AS found,
       (SELECT count(*) FROM u)::int AS applied,
       (SELECT count(*) FROM (SELECT pg_notify('${ORDER_EVENTS_CHANNEL}', $12::text) FROM h) n)::int AS added`;
/** A status event applied (onStatusChanged); the inbox row is written only for a known order: an event for an unknown one is retried, then dead-lettered. */
const APPLY_STATUS = oneStatement('read_model_apply_status', {
  ctes: APPLY_STATUS_CTES,
  select: APPLY_STATUS_SELECT,
  types: ['uuid', 'text', 'int', 'text', 'timestamptz', 'text', 'jsonb', 'jsonb', 'boolean', 'text', 'jsonb'],
  inboxGate: 'FROM orders WHERE id = $3::uuid AND tenant_id = $4::text',
});

const iso = (d: Date | string): string => (d instanceof Date ? d : new Date(d)).toISOString();

/**
 * The order read model: the orders this service accepted, kept current by
 * order-processing's status events, read by the storefront API and the
 * event streams.
 */
@Injectable()
export class ReadModelService {
  constructor(private readonly ds: DataSource, private readonly uow: UnitOfWork) {}

  /** The tenant's order (404 for a missing or another tenant's order). */
  async get(tenantId: string, id: string): Promise<OrderDto> {
    return toOrder(await this.row(id, tenantId));
  }

  /** An order by id alone, with its tenant (for the token-authenticated event stream); undefined if none. */
  async find(id: string): Promise<{ order: OrderDto; tenantId: string; sequence: number } | undefined> {
    const [row] = (await this.ds.query(ORDER_SQL, [id])) as OrderRow[];
    return row && { order: toOrder(row), tenantId: row.tenant_id, sequence: row.sequence };
  }

  private async row(id: string, tenantId: string): Promise<OrderRow> {
    const [row] = (await this.ds.query(`${ORDER_SQL} AND o.tenant_id = $2`, [id, tenantId])) as OrderRow[];
    if (!row) throw new OrdersError('order_not_found', `order ${id} not found`);
    return row;
  }

  async list(tenantId: string, q: { status?: OrderStatus; limit?: number; cursor?: string }): Promise<OrderListDto> {
    const limit = q.limit ?? 20;
    const c = q.cursor ? decodeCursor(q.cursor) : undefined;
    const rows = (await this.ds.query(
      `SELECT id, status, customer, totals, created_at FROM orders
        WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2)
          AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $5`,
      [tenantId, q.status ?? null, c?.at ?? null, c?.id ?? null, limit + 1],
    )) as Array<Pick<OrderRow, 'id' | 'status' | 'customer' | 'totals' | 'created_at'>>;
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({ id: r.id, status: r.status, customer: r.customer, totals: r.totals, createdAt: iso(r.created_at) })),
      nextCursor: rows.length > limit ? encodeCursor({ at: iso(last.created_at), id: last.id }) : null,
    };
  }

  /** Status changes after `afterSequence`, in order, each as the order summary at that change. */
  async eventsSince(summary: Pick<OrderSummaryDto, 'id' | 'customer' | 'createdAt'>, afterSequence: number): Promise<OrderEventDto[]> {
    const rows = (await this.ds.query(
      'SELECT sequence, status, at, reason, totals FROM order_history WHERE order_id = $1 AND sequence > $2 ORDER BY sequence',
      [summary.id, afterSequence],
    )) as HistoryRow[];
    return rows.map((r) => ({
      id: summary.id, status: r.status, customer: summary.customer, totals: r.totals, createdAt: summary.createdAt,
      sequence: r.sequence, at: iso(r.at), ...(r.reason ? { reason: r.reason } : {}),
    }));
  }

  /**
   * A consumed status event, exactly once (a redelivery changes nothing), in
   * one statement: the history entry (any sequence, once) and those of the
   * earlier statuses it carries (PENDING excepted: intake wrote it), the current state
   * only when the sequence is newer than the stored one (out-of-order safe),
   * the inbox row, and the NOTIFY that wakes SSE streams and `Prefer: wait`
   * requests on every instance, sent on commit.
   */
  async onStatusChanged(env: Envelope<'order.status-changed.v1'>): Promise<void> {
    const p = env.payload;
    // PENDING (sequence 1) is the entry intake wrote with the order: acknowledged without a transaction,
    // so a flood's thousands of them never hold up another order's final status behind them
    if (p.sequence === 1 && p.status === 'PENDING') return;
    const items = p.items.map((i) => ({
      sku: i.sku, quantity: i.quantity,
      ...(i.name !== undefined ? { name: i.name } : {}),
      ...(i.unitPriceCents !== undefined ? { unitPriceCents: i.unitPriceCents } : {}),
    }));
    const priced = items.length > 0 && items.every((i) => i.unitPriceCents !== undefined);
    const totals = p.totals
      ? { subtotalCents: p.totals.subtotalCents, discountCents: p.totals.discountCents, totalCents: p.totals.totalCents, currency: p.totals.currency }
      : null;
    const [r] = await this.uow.handleOnceInOneStatement<{ found: number; applied: number; added: number }>(env, APPLY_STATUS, [
      p.orderId, p.tenantId, p.sequence, p.status, p.at, p.reason ?? null, totals && JSON.stringify(totals),
      JSON.stringify(items), priced, JSON.stringify({ orderId: p.orderId, sequence: p.sequence, status: p.status }),
      JSON.stringify((p.earlier ?? []).map((e) => ({ sequence: e.sequence, status: e.status, at: e.at, reason: e.reason ?? null }))),
    ]);
    if (r.found === 0) throw new OrdersError('status_for_unknown_order', `status event for unknown order ${p.orderId} of tenant ${p.tenantId}`);
  }
}

function toOrder(r: OrderRow): OrderDto {
  const history: HistoryEntryDto[] = r.history.map((h) => ({ status: h.status, at: iso(h.at), ...(h.reason ? { reason: h.reason } : {}) }));
  return {
    id: r.id,
    status: r.status,
    customer: r.customer,
    items: r.items,
    totals: r.totals,
    couponCode: r.coupon_code,
    ...(r.rejection_reason ? { rejectionReason: r.rejection_reason } : {}),
    history,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}
