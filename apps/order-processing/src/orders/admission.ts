import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Sql } from '@orders/persistence';
import { OrderProcessingEnv } from '../config';
import { SharedRate } from './shared-rate';

/** A tenant's orders in flight, and whether another tenant has any (one query over the orders_in_flight index). */
export interface InFlight {
  mine: number;
  others: boolean;
}

/** The SQL that reads InFlight for tenant `$n` (as columns `in_flight`, `others_in_flight`). */
export const inFlightColumns = (n: number): string =>
  `(SELECT count(*)::int FROM orders WHERE tenant_id = $${n} AND status = 'PROCESSING') AS in_flight,
   EXISTS (SELECT 1 FROM orders WHERE tenant_id <> $${n} AND status = 'PROCESSING') AS others_in_flight`;

/**
 * The room rule of TenantAdmission.roomBeside, for a statement that reads the
 * orders in flight itself: `cap` alone, `sharedCap` (and at most `tokens`,
 * null: no budget) while another tenant has orders in flight or
 * `sharedByActivity` (the activity window, this instance's view).
 */
export interface AdmissionLimits {
  cap: number;
  sharedCap: number;
  tokens: number | null;
  sharedByActivity: boolean;
}

/**
 * Fairness across tenants: a tenant alone gets TENANT_MAX_IN_FLIGHT orders
 * PROCESSING at once; while another tenant is active (orders in flight, or
 * placed or ended here within TENANT_ACTIVE_WINDOW_MS) it gets
 * TENANT_SHARED_IN_FLIGHT. The rest wait as PENDING and start, oldest first,
 * as that tenant's earlier orders finish (the finishing step starts them
 * in its own transaction: OrderLifecycle.finish). A tenant flooding thousands of
 * orders so holds a bounded share of the pipeline, and another tenant's
 * order starts at once and shares each stage with few of the flood's.
 *
 * While shared, a tenant also starts at most TENANT_SHARED_STARTS_PER_SECOND
 * orders a second (a token bucket per tenant, this instance's): a flood then
 * takes a bounded part of the machine, not all of it, and another tenant's
 * order is not slowed by every stage running flat out (processor sharing:
 * at utilisation u each stage takes 1/(1 − u) as long). An order that finds
 * room but no token waits; a timer starts the tenant's waiting orders when
 * the next token is due (`onWake`, one per tenant). A tenant alone is never
 * held back by it. The rate adapts between TENANT_SHARED_STARTS_MIN_PER_SECOND
 * and that maximum to how long the quiet lane's orders take beside it
 * (SharedRate), so it leaves headroom on a slow machine too.
 *
 * The cap is soft on purpose: the check takes no lock (a per-tenant lock
 * would make one tenant's orders pass through the service one at a time), so
 * concurrent admissions may overshoot it by at most PLACED_CONCURRENCY; the
 * activity window is this instance's view. The one race this leaves — an
 * order decides to wait just as the last of its tenant's orders in flight
 * finishes — is closed by `stranded()`, which the reconciler checks every
 * ADMISSION_SWEEP_MS.
 */
@Injectable()
export class TenantAdmission implements OnApplicationShutdown {
  private readonly logger = new Logger('Admission');
  /** When each tenant last placed or ended an order here (ms): its activity, for TENANT_ACTIVE_WINDOW_MS. */
  private readonly active = new Map<string, number>();
  /** Each tenant's start budget while shared (TENANT_SHARED_STARTS_PER_SECOND): tokens, as of `at`. */
  private readonly budgets = new Map<string, { tokens: number; at: number }>();
  /** A timer per tenant held back by its budget: it starts the tenant's waiting orders when a token is due. */
  private readonly wakes = new Map<string, { cancel(): void }>();
  private wake?: (tenantId: string) => Promise<unknown>;
  /** The budget's rate, fitted to what the quiet lane's orders see. */
  readonly sharedRate: SharedRate;

  /** The clock and the timer (a test sets its own). */
  now: () => number = Date.now;
  schedule = (fn: () => void, ms: number): { cancel(): void } => {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  };

  constructor(private readonly cfg: OrderProcessingEnv) {
    this.sharedRate = new SharedRate(cfg.TENANT_SHARED_STARTS_PER_SECOND, cfg.TENANT_SHARED_STARTS_MIN_PER_SECOND);
  }

  /** What starts a tenant's waiting orders when its next token is due (SagaService: admitWaiting in a transaction of its own). */
  onWake(fn: (tenantId: string) => Promise<unknown>): void {
    this.wake = fn;
  }

  onApplicationShutdown(): void {
    for (const w of this.wakes.values()) w.cancel();
    this.wakes.clear();
    this.wake = undefined;
  }

  /** One of the tenant's orders started: it spends a token of its budget. */
  started(tenantId: string): void {
    const b = this.budget(tenantId);
    if (b) b.tokens = Math.max(0, b.tokens - 1);
  }

  /** An order that ran here ended (before its tenant's noteActive): a quiet-lane one tells the budget how long it took beside the others. */
  ran(order: { tenantId: string; lane: string; placedAt: Date }): void {
    if (order.lane !== 'quiet' || this.cfg.TENANT_SHARED_STARTS_PER_SECOND === 0) return;
    this.sharedRate.observe(Math.max(0, this.now() - order.placedAt.getTime()), this.othersActive(order.tenantId));
  }

  /** One of the tenant's orders was placed or ended here. */
  noteActive(tenantId: string): void {
    this.active.delete(tenantId); // re-inserted last: the map stays in order of activity
    this.active.set(tenantId, this.now());
  }

  /**
   * What the statement that starts a tenant's waiting orders may take
   * (OrderStore.lockAdmissible applies roomBeside's rule to the orders in
   * flight it reads itself: one round trip). 0: none may start, no statement
   * needed (shared by the activity window and out of tokens; the wake is armed).
   */
  limits(tenantId: string): AdmissionLimits | 0 {
    const sharedByActivity = this.othersActive(tenantId);
    const b = this.budget(tenantId);
    if (sharedByActivity && b && b.tokens < 1) {
      this.wakeWhenDue(tenantId, b.tokens);
      return 0;
    }
    return {
      cap: this.cfg.TENANT_MAX_IN_FLIGHT,
      sharedCap: Math.min(this.cfg.TENANT_SHARED_IN_FLIGHT, this.cfg.TENANT_MAX_IN_FLIGHT),
      tokens: b ? Math.floor(b.tokens) : null,
      sharedByActivity,
    };
  }

  /**
   * How many more of a tenant's orders may start beside those in flight.
   * Where the budget is what holds them back, the tenant's wake is armed.
   */
  roomBeside(tenantId: string, inFlight: InFlight): number {
    const shared = inFlight.others || this.othersActive(tenantId);
    const cap = shared ? Math.min(this.cfg.TENANT_SHARED_IN_FLIGHT, this.cfg.TENANT_MAX_IN_FLIGHT) : this.cfg.TENANT_MAX_IN_FLIGHT;
    const room = Math.max(0, cap - inFlight.mine);
    const b = this.budget(tenantId);
    if (!shared || !b || room === 0) return room;
    const tokens = Math.floor(b.tokens);
    if (tokens < room) this.wakeWhenDue(tenantId, b.tokens);
    return Math.min(room, tokens);
  }

  /** The tenant's budget, refilled up to now (undefined: no budget, TENANT_SHARED_STARTS_PER_SECOND is 0). */
  private budget(tenantId: string): { tokens: number; at: number } | undefined {
    if (this.cfg.TENANT_SHARED_STARTS_PER_SECOND === 0) return undefined;
    const rate = this.sharedRate.rate;
    const now = this.now();
    const burst = Math.min(this.cfg.TENANT_SHARED_IN_FLIGHT, this.cfg.TENANT_MAX_IN_FLIGHT);
    let b = this.budgets.get(tenantId);
    if (!b) {
      if (this.budgets.size >= 10_000) this.budgets.clear(); // bounded: a full bucket is what a forgotten tenant gets back
      this.budgets.set(tenantId, (b = { tokens: burst, at: now }));
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) * rate) / 1000);
    b.at = now;
    return b;
  }

  private wakeWhenDue(tenantId: string, tokens: number): void {
    if (this.wakes.has(tenantId) || !this.wake) return;
    const dueMs = Math.max(1, Math.ceil(((1 - (tokens % 1)) * 1000) / this.sharedRate.rate));
    this.wakes.set(
      tenantId,
      this.schedule(() => {
        this.wakes.delete(tenantId);
        void this.wake?.(tenantId).catch((e: Error) => this.logger.warn(`starting tenant ${tenantId}'s waiting orders failed (${e.message}); the sweep starts them`));
      }, dueMs),
    );
  }

  /** Whether another tenant placed or ended an order here within TENANT_ACTIVE_WINDOW_MS. */
  othersActive(tenantId: string): boolean {
    const since = this.now() - this.cfg.TENANT_ACTIVE_WINDOW_MS;
    for (const [t, at] of this.active) {
      if (at >= since) {
        if (t !== tenantId) return true;
      } else {
        this.active.delete(t); // oldest first: the rest of the map is more recent
      }
    }
    return false;
  }

  /**
   * Tenants with orders waiting although they have room by the orders in
   * flight (the race above); admitting them checks the room again, activity
   * window included.
   */
  async stranded(db: Sql): Promise<string[]> {
    const rows = await db.query<{ tenant_id: string }>(
      `SELECT w.tenant_id FROM (SELECT DISTINCT tenant_id FROM orders WHERE status = 'PENDING') w
       WHERE (SELECT count(*) FROM orders p WHERE p.tenant_id = w.tenant_id AND p.status = 'PROCESSING')
         < CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.tenant_id <> w.tenant_id AND o.status = 'PROCESSING') THEN $2::int ELSE $1::int END`,
      [this.cfg.TENANT_MAX_IN_FLIGHT, Math.min(this.cfg.TENANT_SHARED_IN_FLIGHT, this.cfg.TENANT_MAX_IN_FLIGHT)],
    );
    return rows.map((r) => r.tenant_id);
  }
}
