import type { Outbox } from '@orders/messaging';

type OutboxRow = ReturnType<Outbox['row']>;
import { isDatabaseUnavailable } from '@orders/persistence';
import type { Pool } from 'pg';
import { Counter, Gauge, Histogram } from 'prom-client';
import { OrdersError } from '../orders.error';

const batchSize = new Histogram({
  name: 'intake_statement_orders',
  help: 'Orders written per intake statement (group commit)',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128],
});
const queued = new Gauge({ name: 'intake_queued_orders', help: 'Orders waiting for a free intake statement (all slots busy)' });
const refused = new Counter({
  name: 'intake_refused_total',
  help: 'Orders answered 503 by intake back-pressure, nothing written: the queue was full, or an order waited longer than INTAKE_MAX_WAIT_MS',
  labelNames: ['reason'] as const,
});

/** One accepted order as the intake statement stores it, with its order.placed.v1 message. */
export interface IntakeRow {
  tenantId: string;
  key: string;
  requestHash: string;
  orderId: string;
  response: string;
  holdSeconds: number;
  customer: string;
  items: string;
  couponCode: string | null;
  shippingAddress: string;
  placedAt: string;
  message: OutboxRow;
  /** A heavy tenant's order (the bulk lane): its statements leave one slot free for the others' (absent: light). */
  heavy?: boolean;
}

/**
 * The whole intake of a set of orders in ONE statement and one transaction:
 * the idempotency records (ON CONFLICT DO NOTHING), and only for the keys
 * that were new, the orders, their PENDING history entries (sequence 1) and
 * their order.placed.v1 outbox rows (Outbox.insertCte: published by this
 * process once the statement committed, or by the relay, woken on commit).
 * Returns the ids of the orders actually inserted and their outbox rows'
 * seqs. A request whose key already exists (even one committed by a
 * concurrent request this very moment: the insert waits on the unique key)
 * inserts nothing.
 */
const placeOrdersSql = (outbox: ReturnType<Outbox['insertCte']>) => `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[], $9::text[],
                       $10::jsonb[], $11::timestamptz[], $12::uuid[], $13::text[], $14::text[], $15::text[])
    AS t(tenant_id, key, request_hash, order_id, response, hold, customer, items, coupon_code, shipping_address, placed_at, msg_id, routing_key, body,
         trace_context)
), k AS (
  INSERT INTO idempotency_keys (tenant_id, key, request_hash, order_id, status_code, response, held_until)
  SELECT tenant_id, key, request_hash, order_id, 202, response, CASE WHEN hold > 0 THEN now() + make_interval(secs => hold) END
    FROM input ORDER BY tenant_id, key -- one lock order for every batch: concurrent batches sharing keys cannot deadlock
  ON CONFLICT DO NOTHING
  RETURNING order_id
), o AS (
  INSERT INTO orders (id, tenant_id, status, sequence, customer, items, coupon_code, shipping_address, created_at, updated_at)
  SELECT i.order_id, i.tenant_id, 'PENDING', 1, i.customer, i.items, i.coupon_code, i.shipping_address, i.placed_at, i.placed_at
    FROM input i JOIN k USING (order_id)
), h AS (
  INSERT INTO order_history (order_id, sequence, status, at)
  SELECT i.order_id, 1, 'PENDING', i.placed_at FROM input i JOIN k USING (order_id)
), ob AS (
  ${outbox.insert}
)
SELECT array(SELECT order_id::text FROM k) AS inserted, array(SELECT seq::text FROM ob) AS seqs,
       (SELECT count(*) FROM (SELECT ${outbox.direct ? 'NULL' : outbox.notify} FROM (SELECT 1 FROM ob LIMIT 1) one) n)::int AS notified`;

/** The outbox rows' columns, from the statement's input (Outbox.insertCte). */
const OUTBOX_SELECT = (relayAfter: string) => `SELECT i.msg_id, i.routing_key, i.body, i.trace_context, ${relayAfter} FROM input i JOIN k USING (order_id)`;

interface Pending {
  row: IntakeRow;
  /** When it was queued (ms). */
  at: number;
  resolve(inserted: boolean): void;
  reject(e: unknown): void;
}

export interface IntakeLimits {
  /** Statements running at once (connections intake holds). */
  maxInFlight: number;
  /** Orders per statement. */
  maxBatch: number;
  /** Orders waiting for a free slot; one more is refused at once. */
  maxQueued: number;
  /** Longest an order waits for a slot before it is refused. */
  maxWaitMs: number;
}

const DEFAULT_LIMITS: IntakeLimits = { maxInFlight: 4, maxBatch: 128, maxQueued: 4000, maxWaitMs: 3000 };

/** What intake's readiness says: saturated while it refuses orders, or while a statement takes longer than an order may wait. */
export interface IntakeLoad {
  saturated: boolean;
  queued: number;
  inFlight: number;
  /** Since the last refusal, ms (undefined: none yet). */
  sinceRefusalMs?: number;
  /** Age of the oldest running statement, ms (0: none running). */
  oldestStatementMs: number;
}

/**
 * Group commit for intake. With no backlog a request runs at once, alone;
 * while `maxInFlight` statements are running, new requests queue and the
 * next free slot takes them all (up to `maxBatch`) in one statement. No
 * timers on the hot path: batching only happens when the database is the
 * bottleneck, and then it cuts round trips, plans and commits per order.
 *
 * A light tenant's orders go first: they join the next statement ahead of
 * a heavy tenant's (the bulk lane), and statements holding only heavy
 * orders leave one slot free, so a flood's burst never makes another
 * tenant's order wait for a slot.
 *
 * Back-pressure, for a database slow but up: the queue holds at most
 * `maxQueued` orders and none for longer than `maxWaitMs` (one timer, for
 * the oldest); beyond either an order is refused with `intake_saturated`
 * (503 + Retry-After) before anything of it is written, so the storefront's
 * retry with the same key is safe. A statement already running ends at the
 * database's statement timeout at the latest (503 too, rolled back).
 */
export class IntakeBatcher {
  private queue: Pending[] = [];
  /** Light tenants' orders in `queue`. */
  private lightQueued = 0;
  /** The running statements, by start time (ms). */
  private inFlight = new Set<{ at: number }>();
  private readonly limits: IntakeLimits;
  private expiry?: NodeJS.Timeout;
  private lastRefusalAt?: number;

  constructor(private readonly pool: () => Pool, private readonly outbox: Outbox, limits: Partial<IntakeLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** true when this row's order was inserted, false when its idempotency key already existed. */
  place(row: IntakeRow): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const now = Date.now();
      this.expire(now);
      if (this.queue.length >= this.limits.maxQueued) {
        reject(this.refuse('queue_full', now));
        return;
      }
      this.queue.push({ row, at: now, resolve, reject });
      if (!row.heavy) this.lightQueued++;
      this.flush();
      this.armExpiry();
    });
  }

  /** Saturated: it refused an order within the last maxWaitMs, its queue is full, or a statement has run longer than an order may wait. */
  load(now = Date.now()): IntakeLoad {
    this.expire(now);
    let oldest = 0;
    for (const s of this.inFlight) oldest = Math.max(oldest, now - s.at);
    const sinceRefusalMs = this.lastRefusalAt === undefined ? undefined : now - this.lastRefusalAt;
    const saturated =
      (sinceRefusalMs !== undefined && sinceRefusalMs < this.limits.maxWaitMs) || this.queue.length >= this.limits.maxQueued || oldest > this.limits.maxWaitMs;
    return { saturated, queued: this.queue.length, inFlight: this.inFlight.size, sinceRefusalMs, oldestStatementMs: oldest };
  }

  private flush(): void {
    const { maxBatch, maxInFlight } = this.limits;
    while (this.queue.length > 0 && this.inFlight.size < maxInFlight) {
      if (this.lightQueued === 0 && maxInFlight > 1 && this.inFlight.size >= maxInFlight - 1) break; // the last slot is kept for a light order
      const batch = this.takeBatch(maxBatch);
      const slot = { at: Date.now() };
      this.inFlight.add(slot);
      batchSize.observe(batch.length);
      void this.run(batch).finally(() => {
        this.inFlight.delete(slot);
        this.flush();
      });
    }
    queued.set(this.queue.length);
  }

  /** The next statement's orders: the light ones first, then the oldest heavy ones, at most `max`; the queue keeps its order. */
  private takeBatch(max: number): Pending[] {
    if (this.lightQueued === 0) {
      const batch = this.queue.slice(0, max);
      this.queue = this.queue.slice(batch.length);
      return batch;
    }
    const light = this.queue.filter((p) => !p.row.heavy).slice(0, max);
    const batch = [...light, ...this.queue.filter((p) => p.row.heavy).slice(0, max - light.length)];
    const taken = new Set(batch);
    this.queue = this.queue.filter((p) => !taken.has(p));
    this.lightQueued -= light.length;
    return batch;
  }

  /** Refuses the queued orders that have waited longer than maxWaitMs (the oldest are first). */
  private expire(now: number): void {
    let n = 0;
    while (n < this.queue.length && now - this.queue[n].at >= this.limits.maxWaitMs) n++;
    if (n === 0) return;
    const expired = this.queue.slice(0, n);
    this.queue = this.queue.slice(n);
    this.lightQueued -= expired.filter((p) => !p.row.heavy).length;
    queued.set(this.queue.length);
    for (const p of expired) p.reject(this.refuse('waited_too_long', now));
  }

  /** One timer, due when the oldest queued order reaches maxWaitMs. */
  private armExpiry(): void {
    if (this.expiry || this.queue.length === 0) return;
    const due = Math.max(0, this.queue[0].at + this.limits.maxWaitMs - Date.now());
    this.expiry = setTimeout(() => {
      this.expiry = undefined;
      this.expire(Date.now());
      this.armExpiry();
    }, due); // not unref'd: the orders waiting are owed an answer
  }

  private refuse(reason: 'queue_full' | 'waited_too_long', now: number): OrdersError {
    refused.inc({ reason });
    this.lastRefusalAt = now;
    const retryAfter = String(Math.max(1, Math.ceil(this.limits.maxWaitMs / 1000)));
    const why = reason === 'queue_full' ? `${this.limits.maxQueued} orders are already waiting` : `it waited ${this.limits.maxWaitMs} ms`;
    return new OrdersError('intake_saturated', `intake is saturated (${why}); nothing was stored: retry with the same Idempotency-Key after Retry-After seconds`, {
      'retry-after': retryAfter,
    });
  }

  /**
   * One statement for the batch. If it fails for anything but the
   * infrastructure (a row the database refuses), the halves are retried
   * apart, down to single rows: only the offending order fails, never its
   * neighbours. An infrastructure failure fails them all at once (503).
   */
  private async run(batch: Pending[]): Promise<void> {
    try {
      await this.statement(batch);
    } catch (e) {
      if (batch.length === 1 || isDatabaseUnavailable(e)) {
        for (const p of batch) p.reject(e);
        return;
      }
      const half = Math.ceil(batch.length / 2);
      await this.run(batch.slice(0, half));
      await this.run(batch.slice(half));
    }
  }

  private async statement(batch: Pending[]): Promise<void> {
    const col = <K extends keyof IntakeRow>(k: K) => batch.map((p) => p.row[k]);
    const msg = <K extends keyof OutboxRow>(k: K) => batch.map((p) => p.row.message[k]);
    const outbox = this.outbox.insertCte(OUTBOX_SELECT);
    const { rows } = await this.pool().query<{ inserted: string[]; seqs: string[] }>({
      name: `receiving_place_orders_${outbox.direct ? 'direct' : 'relay'}`, // prepared once per connection: no parse and plan per batch
      text: placeOrdersSql(outbox),
      values: [
        col('tenantId'), col('key'), col('requestHash'), col('orderId'), col('response'), col('holdSeconds'), col('customer'), col('items'),
        col('couponCode'), col('shippingAddress'), col('placedAt'), msg('id'), msg('routingKey'), msg('raw'), msg('traceContext'),
      ],
    });
    const inserted = new Set(rows[0].inserted);
    if (outbox.direct) this.outbox.published(batch.filter((p) => inserted.has(p.row.orderId)).map((p) => p.row.message), rows[0].seqs);
    for (const p of batch) p.resolve(inserted.has(p.row.orderId));
  }
}
