import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { PgListener } from '@orders/persistence';
import { Counter } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import { DataSource } from 'typeorm';
import { NotificationEnv } from '../config';
import { nextDelay } from './schedule';
import { postWebhook, WebhookResponse } from './sender';
import { WebhookRoutes } from './webhook-routes';

/** NOTIFY channel that wakes the dispatchers of one schema (sent on commit of new or re-sent deliveries). */
export const wakeChannel = (schema: string) => `webhooks_${schema}`;

/** The `webhook-id` of a delivery: stable across all its attempts. */
export const webhookIdOf = (deliveryId: string) => `msg_${deliveryId.replace(/-/g, '')}`;

/** Floor of the next-due timer, so a row that is due but momentarily locked elsewhere never makes a tight loop. */
const MIN_TIMER_MS = 25;
/** A claimed delivery whose instance died is attempted again after its timeout plus this lease margin. */
const LEASE_MARGIN_S = 60;

const webhookAttempts = new Counter({
  name: 'webhook_attempts_total',
  help: 'Webhook delivery attempts by outcome (delivered, retrying, failed)',
  labelNames: ['outcome'] as const,
});

interface Claimed {
  id: string;
  endpoint_id: string;
  tenant_id: string;
  payload: string;
  attempt_count: number;
  round_start: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_valid: boolean | null;
}

type Outcome = 'delivered' | 'retrying' | 'failed';

/** In-flight counts by key (an endpoint, a tenant). */
class Load {
  private readonly n = new Map<string, number>();
  add(key: string): void {
    this.n.set(key, (this.n.get(key) ?? 0) + 1);
  }
  remove(key: string): void {
    const left = (this.n.get(key) ?? 1) - 1;
    if (left > 0) this.n.set(key, left);
    else this.n.delete(key);
  }
  /** Keys at `cap` or beyond. */
  full(cap: number): string[] {
    return [...this.n].filter(([, n]) => n >= cap).map(([k]) => k);
  }
  /** Keys below `cap`, and their counts, as two parallel arrays (for unnest). */
  partial(cap: number): [string[], number[]] {
    const below = [...this.n].filter(([, n]) => n < cap);
    return [below.map(([k]) => k), below.map(([, n]) => n)];
  }
}

/**
 * Sends due webhook deliveries. Woken by NOTIFY (new deliveries), by a
 * timer set to the earliest next attempt, and after each finished send;
 * a slow safety-net sweep covers lost notifications. Due rows are claimed
 * with FOR UPDATE SKIP LOCKED (several instances share the work) and leased
 * by moving their next attempt past the timeout.
 *
 * Fair, not oldest-first: at most WEBHOOK_CONCURRENCY requests are in
 * flight, at most WEBHOOK_PER_TENANT_CONCURRENCY of one tenant and at most
 * WEBHOOK_PER_ENDPOINT_CONCURRENCY to one endpoint; free slots go first to
 * the tenants with the fewest requests in flight, and within a tenant to
 * its endpoints with the fewest, then to the oldest due delivery. A tenant
 * whose endpoints all hang only ever holds its own share of the slots.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WebhookDispatcher');
  private readonly endpoints = new Load();
  private readonly tenants = new Load();
  private readonly sends = new Set<Promise<void>>();
  private readonly listener: PgListener;
  private draining?: Promise<void>;
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;

  constructor(private readonly ds: DataSource, private readonly cfg: NotificationEnv, private readonly routes: WebhookRoutes) {
    this.listener = new PgListener({
      url: cfg.DATABASE_URL,
      channel: wakeChannel(cfg.DB_SCHEMA),
      applicationName: 'notification:webhooks',
      onNotify: () => this.wake(),
      onListening: () => this.wake(), // anything committed while we were not listening
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.listener.start();
    this.wake();
  }

  /** Stops claiming and lets the requests in flight finish (each bounded by WEBHOOK_TIMEOUT_MS). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.listener.stop();
    await this.draining;
    await Promise.all([...this.sends]);
  }

  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private get inFlight(): number {
    return this.sends.size;
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      try {
        const free = this.cfg.WEBHOOK_CONCURRENCY - this.inFlight;
        if (free > 0) for (const row of await this.claim(free)) this.start(row);
        if (this.inFlight < this.cfg.WEBHOOK_CONCURRENCY) await this.armTimer();
      } catch (e) {
        this.logger.warn(`webhook dispatch failed, will retry: ${(e as Error).message}`);
        this.armAt(1000);
        return;
      }
    } while (this.again && !this.stopped);
  }

  /**
   * Up to `free` due deliveries, none beyond an endpoint's or a tenant's free
   * slots. Each candidate's load is what its endpoint (tenant) would have in
   * flight with it; the lightest go first, so slots are dealt round-robin over
   * tenants, and within a tenant over its endpoints.
   */
  private async claim(free: number): Promise<Claimed[]> {
    const perEndpoint = this.cfg.WEBHOOK_PER_ENDPOINT_CONCURRENCY;
    const perTenant = this.cfg.WEBHOOK_PER_TENANT_CONCURRENCY;
    const [endpointIds, endpointLoads] = this.endpoints.partial(perEndpoint);
    const [tenantIds, tenantLoads] = this.tenants.partial(perTenant);
    const [rows]: [Claimed[], number] = await this.ds.query(
      `WITH picked AS (
         SELECT d.id, w.tenant_id, d.next_attempt_at,
                row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.id) + coalesce(eb.n, 0) AS endpoint_load
         FROM webhook_endpoints w
         LEFT JOIN unnest($4::uuid[], $5::int[]) AS eb(endpoint_id, n) ON eb.endpoint_id = w.id
         CROSS JOIN LATERAL (
           SELECT id, endpoint_id, next_attempt_at FROM webhook_deliveries
           WHERE endpoint_id = w.id AND state = 'pending' AND next_attempt_at <= now()
           ORDER BY next_attempt_at LIMIT $1
           FOR UPDATE SKIP LOCKED
         ) d
         WHERE w.disabled_at IS NULL AND NOT (w.id = ANY ($2::uuid[])) AND NOT (w.tenant_id = ANY ($3::text[]))
       ), ranked AS (
         SELECT p.id, p.next_attempt_at, p.endpoint_load,
                row_number() OVER (PARTITION BY p.tenant_id ORDER BY p.endpoint_load, p.next_attempt_at, p.id) + coalesce(tb.n, 0) AS tenant_load
         FROM picked p
         LEFT JOIN unnest($6::text[], $7::int[]) AS tb(tenant_id, n) ON tb.tenant_id = p.tenant_id
         WHERE p.endpoint_load <= $1
       ), chosen AS (
         SELECT id FROM ranked WHERE tenant_load <= $8
         ORDER BY tenant_load, endpoint_load, next_attempt_at, id
         LIMIT $9
       )
       UPDATE webhook_deliveries d
       SET attempt_count = d.attempt_count + 1, next_attempt_at = now() + make_interval(secs => $10)
       FROM chosen, webhook_endpoints w
       WHERE d.id = chosen.id AND w.id = d.endpoint_id
       RETURNING d.id, d.endpoint_id, d.tenant_id, d.payload, d.attempt_count, d.round_start, w.url, w.secret, w.previous_secret,
                 (w.previous_secret_until > now()) AS previous_valid`,
      [
        perEndpoint, this.endpoints.full(perEndpoint), this.tenants.full(perTenant), endpointIds, endpointLoads,
        tenantIds, tenantLoads, perTenant, free, this.cfg.WEBHOOK_TIMEOUT_MS / 1000 + LEASE_MARGIN_S,
      ],
    );
    return rows;
  }

  /** Sleeps until the earliest next attempt that a free slot could take (or the safety-net sweep). */
  private async armTimer(): Promise<void> {
    const [{ ms }]: Array<{ ms: number | null }> = await this.ds.query(
      `SELECT (extract(epoch FROM min(d.next_attempt_at) - now()) * 1000)::float8 AS ms
       FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
       WHERE d.state = 'pending' AND w.disabled_at IS NULL
         AND NOT (d.endpoint_id = ANY ($1::uuid[])) AND NOT (w.tenant_id = ANY ($2::text[]))`,
      [this.endpoints.full(this.cfg.WEBHOOK_PER_ENDPOINT_CONCURRENCY), this.tenants.full(this.cfg.WEBHOOK_PER_TENANT_CONCURRENCY)],
    );
    this.armAt(ms === null ? this.cfg.WEBHOOK_SWEEP_MS : Math.min(Math.max(ms, MIN_TIMER_MS), this.cfg.WEBHOOK_SWEEP_MS));
  }

  private armAt(delay: number): void {
    if (this.stopped) return;
    const at = Date.now() + delay;
    if (this.timer && at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.wake();
    }, delay);
  }

  private start(row: Claimed): void {
    this.endpoints.add(row.endpoint_id);
    this.tenants.add(row.tenant_id);
    const p: Promise<void> = this.attempt(row)
      .catch((e: Error) => this.logger.warn(`recording webhook attempt ${row.id} failed: ${e.message}`))
      .finally(() => {
        this.sends.delete(p);
        this.endpoints.remove(row.endpoint_id);
        this.tenants.remove(row.tenant_id);
        this.wake();
      });
    this.sends.add(p);
  }

  private async attempt(row: Claimed): Promise<void> {
    const at = new Date();
    const msgId = webhookIdOf(row.id);
    const signatures = [new Webhook(row.secret).sign(msgId, at, row.payload)];
    if (row.previous_secret && row.previous_valid) signatures.push(new Webhook(row.previous_secret).sign(msgId, at, row.payload));
    const res = await postWebhook({
      url: row.url,
      body: row.payload,
      timeoutMs: this.cfg.WEBHOOK_TIMEOUT_MS,
      policy: this.cfg.addressPolicy,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'orders-notification-webhooks/1',
        'webhook-id': msgId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signatures.join(' '),
      },
    });
    await this.record(row, at, res);
  }

  /**
   * The attempt's outcome: the delivery's next step, one attempt row, and the
   * endpoint's health. When it disabled the endpoint, the tenant's routes are
   * set again at once: its events stop reaching the queue unless another endpoint wants them.
   */
  private async record(row: Claimed, at: Date, res: WebhookResponse): Promise<void> {
    if (await this.recordInTx(row, at, res)) await this.routes.syncSoon(row.tenant_id);
  }

  /** Whether this attempt disabled its endpoint. */
  private async recordInTx(row: Claimed, at: Date, res: WebhookResponse): Promise<boolean> {
    const code = res.statusCode;
    const ok = code !== null && code >= 200 && code < 300;
    const gone = code === 410;
    const delay = ok || gone ? null : nextDelay(this.cfg.webhookSchedule, row.attempt_count - row.round_start);
    const outcome: Outcome = ok ? 'delivered' : delay === null ? 'failed' : 'retrying';
    const error = ok ? null : res.error ?? `HTTP ${code}`;
    webhookAttempts.inc({ outcome });
    return this.ds.transaction(async (m): Promise<boolean> => {
      // A delivery failed meanwhile (its endpoint was disabled while this request was in flight) stays failed unless this attempt succeeded.
      const [updated]: [Array<{ next_attempt_at: Date | null; state: string }>, number] = await m.query(
        `UPDATE webhook_deliveries SET
           state = CASE WHEN $3::text = 'delivered' THEN 'delivered' WHEN $3::text = 'failed' OR state = 'failed' THEN 'failed' ELSE 'pending' END,
           next_attempt_at = CASE WHEN $3::text = 'retrying' AND state <> 'failed' THEN now() + make_interval(secs => $4::double precision / 1000) END,
           finished_at = CASE WHEN $3::text = 'retrying' AND state <> 'failed' THEN NULL ELSE coalesce(finished_at, now()) END,
           last_error = CASE WHEN $3::text = 'retrying' AND state = 'failed' THEN last_error ELSE $5 END
         WHERE id = $1 AND attempt_count = $2
         RETURNING next_attempt_at, state`,
        [row.id, row.attempt_count, outcome, delay ?? 0, error],
      );
      if (!updated[0]) return false; // deleted with its endpoint, or claimed again after the lease ran out
      const logged: Outcome = outcome === 'retrying' && updated[0].state === 'failed' ? 'failed' : outcome;
      await m.query(
        `INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, latency_ms, error, response_excerpt, outcome, next_retry_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [row.id, row.attempt_count, at, code, res.latencyMs, error, res.excerpt, logged, updated[0].next_attempt_at],
      );
      let disabledReason: string | null = null;
      if (ok) {
        await m.query('UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures <> 0', [row.endpoint_id]);
      } else if (gone) {
        disabledReason = 'the endpoint answered 410 Gone';
      } else if (outcome === 'failed') {
        const [[e]]: [Array<{ consecutive_failures: number }>, number] = await m.query(
          'UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1 WHERE id = $1 RETURNING consecutive_failures',
          [row.endpoint_id],
        );
        if (e && e.consecutive_failures >= this.cfg.WEBHOOK_DISABLE_AFTER_FAILURES) {
          disabledReason = `${e.consecutive_failures} deliveries in a row failed`;
        }
      }
      if (!disabledReason) return false;
      const [, disabled] = (await m.query('UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = $2 WHERE id = $1 AND disabled_at IS NULL', [
        row.endpoint_id, disabledReason,
      ])) as [unknown, number];
      await m.query(
        `UPDATE webhook_deliveries SET state = 'failed', next_attempt_at = NULL, finished_at = now(), last_error = $2
         WHERE endpoint_id = $1 AND state = 'pending'`,
        [row.endpoint_id, `endpoint disabled: ${disabledReason}`],
      );
      if (disabled) this.logger.warn(`webhook endpoint ${row.endpoint_id} disabled: ${disabledReason}`);
      return disabled > 0;
    });
  }
}
