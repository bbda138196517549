import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Tx } from '@orders/messaging';
import { deleteInBatches, GroupWrite, poolOf, prepared, sqlOf, type Sql } from '@orders/persistence';
import { every } from '@orders/platform';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { OrderProcessingEnv } from '../config';
import { backoffDelay } from './backoff';
import { GatewayClient } from './gateway-client';
import { PaymentError } from './payment.error';

export type SettlementAction = 'capture' | 'void';

/** A capture or void of one order's authorization; a void without an authorization id looks it up through the authorize idempotency key. */
interface Job {
  order_id: string;
  tenant_id: string;
  action: SettlementAction;
  authorization_id: string | null;
  attempts: number;
  created_at: Date;
}

/** Told when the gateway refuses a capture or void for good (the orders module records it on the order: onRefusal). */
export type RefusalHandler = (orderId: string, action: SettlementAction, reason: string) => Promise<void>;

/** How long a job written by this process is its own to run before another instance's sweep may take it. */
const LEASE_MS = 30000;
const COLUMNS = 'order_id, tenant_id, action, authorization_id, attempts, created_at';
/** How long the ends of settlement jobs gather before they are recorded together (one transaction for many; a crash meanwhile only repeats an idempotent call). */
const ENDS_GATHER_MS = 20;
/** A new job, leased for LEASE_MS to the process that runs it after the commit (the sweep takes it if that process dies). */
const SCHEDULE = prepared(
  'payment_jobs_schedule',
  `INSERT INTO payment_jobs (order_id, tenant_id, action, authorization_id, next_attempt_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
   ON CONFLICT (order_id, action) DO NOTHING`,
  ['uuid', 'text', 'text', 'text', 'double precision'],
);

let source: SettlementJobs | undefined;
new Gauge({
  name: 'orders_payment_unsettled',
  help: 'Captures and voids the gateway refused for good (4xx), by action: money an operator must settle (NaN while the database cannot be read)',
  labelNames: ['action'] as const,
  async collect() {
    const counts = await source?.refusedCounts().catch(() => undefined);
    this.reset();
    for (const action of ['capture', 'void'] as const) this.set({ action }, counts ? (counts.get(action) ?? 0) : NaN);
  },
});

/**
 * Captures and voids, as jobs in order-processing's own table: written in
 * the saga step's transaction (schedule), run by this process right after
 * that commits, and swept every PAYMENT_SWEEP_MS for what a dead process
 * left (each job leased, so instances never run one at once). Money is
 * never given up: while the gateway is unavailable a job waits with growing
 * delays, however long; a void that finds no authorization keeps looking
 * for one answered late, for PAYMENT_VOID_LOOKUP_MS. A refusal (4xx) ends
 * the job `refused`: recorded on the order and counted in
 * orders_payment_unsettled.
 */
@Injectable()
export class SettlementJobs implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Settlements');
  private readonly db: Sql;
  private readonly running = new Set<Promise<void>>();
  /** Jobs of this process waiting for a free slot. */
  private readonly queued: Job[] = [];
  /** Jobs committed while this process stops: never started here. */
  private readonly unstarted: Job[] = [];
  private sweep?: { stop(): Promise<void> };
  private prune?: { stop(): Promise<void> };
  private stopping = false;
  private refused: RefusalHandler = async () => undefined;
  /** Jobs that ended, recorded together: one statement for every job that ended while the previous one ran. */
  private readonly ended: GroupWrite<{ job: Job; state: 'done' | 'refused' | 'nothing_to_void'; error: string | null }>;

  constructor(ds: DataSource, private readonly gateway: GatewayClient, private readonly cfg: OrderProcessingEnv) {
    this.db = sqlOf(poolOf(ds));
    this.ended = new GroupWrite(async (ends) => {
      await this.db.query(
        `UPDATE payment_jobs p SET state = e.state, attempts = p.attempts + 1, last_error = e.error, finished_at = now()
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS e(order_id, action, state, error)
          WHERE p.order_id = e.order_id AND p.action = e.action AND p.state = 'pending'`,
        [ends.map((e) => e.job.order_id), ends.map((e) => e.job.action), ends.map((e) => e.state), ends.map((e) => e.error)],
      );
    }, 500, ENDS_GATHER_MS);
  }

  /** Who records a refusal on its order. */
  onRefusal(handler: RefusalHandler): void {
    this.refused = handler;
  }

  onApplicationBootstrap(): void {
    source = this;
    this.sweep = every(this.cfg.PAYMENT_SWEEP_MS, async () => void (await this.runDue()), (e) => this.logger.warn(`settlement sweep failed: ${e.message}`));
    this.prune = every(3_600_000, async () => void (await this.pruneFinished()), (e) => this.logger.warn(`settlement prune failed: ${e.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (source === this) source = undefined;
    await this.sweep?.stop();
    await this.prune?.stop();
    await Promise.allSettled([...this.running]);
    await this.releaseLeft();
  }

  /**
   * The jobs this process leased but will not run (queued for a slot, or
   * committed while it stops) are due at once for the next sweep of any
   * instance, instead of when their lease would have passed.
   */
  private async releaseLeft(): Promise<void> {
    const left = [...this.queued.splice(0), ...this.unstarted.splice(0)];
    if (left.length === 0) return;
    await this.db
      .query(
        `UPDATE payment_jobs p SET next_attempt_at = now() FROM unnest($1::uuid[], $2::text[]) AS l(order_id, action)
          WHERE p.order_id = l.order_id AND p.action = l.action AND p.state = 'pending'`,
        [left.map((j) => j.order_id), left.map((j) => j.action)],
      )
      .then(() => this.logger.log(`stopping: ${left.length} capture/void job(s) left for the next sweep of any instance`))
      .catch((e: Error) => this.logger.warn(`stopping: cannot release ${left.length} job(s) (${e.message}); the sweep takes them once their lease passed`));
  }

  /**
   * Writes the job in the caller's transaction (with its next round trip);
   * it runs once that commits. A repeat for the same order and action adds
   * no job (running it twice only repeats an idempotent gateway call).
   */
  async schedule(tx: Tx, o: { orderId: string; tenantId: string; action: SettlementAction; authorizationId: string | null }): Promise<void> {
    tx.later(
      SCHEDULE,
      [o.orderId, o.tenantId, o.action, o.authorizationId, LEASE_MS / 1000],
    );
    const job: Job = { order_id: o.orderId, tenant_id: o.tenantId, action: o.action, authorization_id: o.authorizationId, attempts: 0, created_at: new Date() };
    tx.afterCommit(() => this.start(job));
  }

  /** Takes the due jobs (leased, skipping those another instance holds) and runs them; the sweep. */
  async runDue(limit = 100): Promise<number> {
    const due = await this.db.query<Job>(
      `UPDATE payment_jobs SET next_attempt_at = now() + make_interval(secs => $2)
       WHERE id IN (SELECT id FROM payment_jobs WHERE state = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING ${COLUMNS}`,
      [limit, LEASE_MS / 1000],
    );
    for (const job of due) this.start(job);
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    return due.length;
  }

  async refusedCounts(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ action: string; n: number }>(`SELECT action, count(*)::int AS n FROM payment_jobs WHERE state = 'refused' GROUP BY action`);
    return new Map(rows.map((r) => [r.action, r.n]));
  }

  /** Settled jobs older than PAYMENT_JOBS_RETENTION_DAYS go (refused ones stay until an operator settled them). */
  pruneFinished(): Promise<number> {
    return deleteInBatches(this.db, 'payment_jobs', `state IN ('done', 'nothing_to_void') AND finished_at < now() - make_interval(days => $1)`, [this.cfg.PAYMENT_JOBS_RETENTION_DAYS]);
  }

  /** Runs the job as soon as one of PAYMENT_CONCURRENCY slots is free (its lease keeps other instances off it meanwhile). */
  private start(job: Job): void {
    if (this.stopping) return void this.unstarted.push(job); // released at shutdown for the next sweep
    this.queued.push(job);
    this.pump();
  }

  private pump(): void {
    while (!this.stopping && this.running.size < this.cfg.PAYMENT_CONCURRENCY && this.queued.length > 0) {
      const job = this.queued.shift()!;
      const p = this.run(job)
        .catch((e: Error) => this.logger.warn(`${job.action} of order ${job.order_id}: ${e.message}; the sweep takes it again`))
        .finally(() => {
          this.running.delete(p);
          this.pump();
        });
      this.running.add(p);
    }
  }

  private async run(job: Job): Promise<void> {
    try {
      const authorizationId = job.authorization_id ?? (await this.lookUp(job));
      if (authorizationId === 'none') return await this.finish(job, 'nothing_to_void');
      if (authorizationId) await (job.action === 'capture' ? this.gateway.capture(job.order_id, authorizationId) : this.gateway.void(job.order_id, authorizationId));
      await this.finish(job, 'done');
    } catch (e) {
      if (e instanceof PaymentError && e.code !== 'gateway_unavailable') {
        this.logger.error(`${job.action} of order ${job.order_id} refused by the gateway (${e.message}): an operator must settle it`);
        await this.finish(job, 'refused', e.message);
        await this.refused(job.order_id, job.action, e.message);
        return;
      }
      await this.later(job, e instanceof Error ? e.message : String(e));
    }
  }

  /**
   * The authorization of an order that never learned its id (every answer
   * lost): found through the authorize idempotency key. 'none' once nothing
   * was found for PAYMENT_VOID_LOOKUP_MS (nothing to void); undefined when
   * it exists but is no longer authorized (nothing to do either).
   */
  private async lookUp(job: Job): Promise<string | 'none' | undefined> {
    const found = await this.gateway.findAuthorization(job.order_id);
    if (found) {
      this.logger.warn(`order ${job.order_id}: found authorization ${found.id} (${found.status}) whose answer never arrived`);
      return found.status === 'authorized' ? found.id : undefined;
    }
    if (Date.now() - job.created_at.getTime() >= this.cfg.PAYMENT_VOID_LOOKUP_MS) return 'none';
    throw new Error('no authorization found yet; an answer may still come late');
  }

  /** Records how the job ended (with the others ending meanwhile); until then it stays leased, and a crash only repeats an idempotent call. */
  private finish(job: Job, state: 'done' | 'refused' | 'nothing_to_void', error?: string): Promise<void> {
    return this.ended.add({ job, state, error: error?.slice(0, 1000) ?? null });
  }

  /** Tries again later: the gateway is away (however long that lasts), or a void's authorization has not shown up yet. */
  private async later(job: Job, error: string): Promise<void> {
    const delay = backoffDelay(Math.min(job.attempts, 12), this.cfg.PAYMENT_BACKOFF_BASE_MS * 10, Math.max(...this.cfg.paymentWaitDelaysMs));
    await this.db.query(
      `UPDATE payment_jobs SET attempts = attempts + 1, last_error = $3, next_attempt_at = now() + make_interval(secs => $4) WHERE order_id = $1 AND action = $2 AND state = 'pending'`,
      [job.order_id, job.action, error.slice(0, 1000), Math.max(delay, 100) / 1000],
    );
  }
}
