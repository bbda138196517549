import { Type } from 'class-transformer';
import { IsInt, Length, Matches, Max, Min } from 'class-validator';
import { BaseEnv, Secret, IsApiKeys, ServiceSpec, tenantsByAuthorization } from '@orders/platform';
import { migrations } from './migrations';

export class OrderReceivingEnv extends BaseEnv {
  override PORT: number = 3000;
  override DB_SCHEMA: string = 'receiving';
  /** The hot path: accepted orders need a connection each for one statement. */
  override DB_POOL_SIZE: number = 24;

  /** Storefront API keys, `tenant:key,...`; each key belongs to one tenant. */
  @IsApiKeys() @Secret()
  API_KEYS: string = 'demo:demo-key,acme:acme-key';

  /** Secret of the per-order tokens in links.events (HMAC). */
  @Length(16, 512) @Secret()
  EVENTS_TOKEN_SECRET: string = 'dev-events-token-secret-change-me';

  /** How long a links.events token opens its order's stream, seconds from acceptance (default a day). */
  @Type(() => Number) @IsInt() @Min(1) @Max(90 * 86_400)
  EVENTS_TOKEN_TTL_SECONDS: number = 86_400;

  /** How long an Idempotency-Key is remembered (at least a day). */
  @Type(() => Number) @IsInt() @Min(24) @Max(24 * 90)
  IDEMPOTENCY_TTL_HOURS: number = 48;

  /** How often expired idempotency keys are pruned. */
  @Type(() => Number) @IsInt() @Min(1000) @Max(86_400_000)
  IDEMPOTENCY_PRUNE_INTERVAL_MS: number = 600_000;

  /** Per-tenant sustained request rate (token bucket refill per second). */
  @Type(() => Number) @IsInt() @Min(1) @Max(1_000_000)
  RATE_LIMIT_PER_SECOND: number = 2000;

  /** Per-tenant burst (token bucket size). */
  @Type(() => Number) @IsInt() @Min(1) @Max(10_000_000)
  RATE_LIMIT_BURST: number = 4000;

  /** Largest accepted request body, bytes. */
  @Type(() => Number) @IsInt() @Min(1024) @Max(10 * 1024 * 1024)
  BODY_LIMIT_BYTES: number = 64 * 1024;

  /** Interval of SSE heartbeat comments. */
  @Type(() => Number) @IsInt() @Min(100) @Max(300_000)
  SSE_HEARTBEAT_MS: number = 15_000;

  /** Open event streams of one order, per instance (a storefront's tabs and reconnects); 429 beyond. */
  @Type(() => Number) @IsInt() @Min(1) @Max(10_000)
  SSE_MAX_STREAMS_PER_ORDER: number = 16;

  /** Open event streams of one tenant, per instance; 429 beyond. */
  @Type(() => Number) @IsInt() @Min(1) @Max(1_000_000)
  SSE_MAX_STREAMS_PER_TENANT: number = 5_000;

  /**
   * How long a stream waits for a status it has not seen while a later one is
   * stored (events commit out of order, and a deferred one returns after up
   * to the longest retry tier) before it skips it. 0: the longest of
   * RETRY_DELAYS_MS plus 10 seconds.
   */
  @Type(() => Number) @IsInt() @Min(0) @Max(3_600_000)
  SSE_GAP_WAIT_MS: number = 0;

  /**
   * Orders that may wait for a free intake statement while every one is
   * running (the database is slow): one more is answered 503 with
   * Retry-After at once, nothing written (the storefront retries with the
   * same Idempotency-Key). Bounds intake's memory whatever the load.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(1_000_000)
  INTAKE_MAX_QUEUED: number = 4000;

  /**
   * Longest an order waits in that queue before it is answered 503 with
   * Retry-After, nothing written. A statement already running ends at
   * DB_STATEMENT_TIMEOUT_MS at the latest. While intake refuses orders (and
   * for this long after), or a statement has run longer than this,
   * /health/ready is 503.
   */
  @Type(() => Number) @IsInt() @Min(50) @Max(60_000)
  INTAKE_MAX_WAIT_MS: number = 3000;

  /**
   * Fairness at intake: while a light tenant placed an order here within the last second, the heavy tenants'
   * orders (the `bulk` lane: a flood) are stored at most this many a second on this instance, the rest of
   * their requests waiting in line (at most INTAKE_HEAVY_MAX_DELAY_MS, then accepted as usual: nothing is
   * refused). About twice what order-processing starts for a tenant while shared; 0: no pacing.
   */
  @Type(() => Number) @IsInt() @Min(0) @Max(1_000_000)
  INTAKE_HEAVY_PER_SECOND: number = 100;

  /** The longest a heavy tenant's order waits for intake's pacing (INTAKE_HEAVY_PER_SECOND) before it is accepted anyway. */
  @Type(() => Number) @IsInt() @Min(0) @Max(60_000)
  INTAKE_HEAVY_MAX_DELAY_MS: number = 1000;

  /** How long POST /orders/{id}/cancel waits for order-processing's decision before answering 503 (ask again). */
  @Type(() => Number) @IsInt() @Min(100) @Max(30_000)
  CANCEL_DECISION_WAIT_MS: number = 5_000;

  /** Status events handled at once (channel prefetch). */
  @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  CONSUMER_CONCURRENCY: number = 16;

  /** Origins whose pages may call the REST API from a browser (CORS), comma-separated, e.g. `https://shop.example`; none by default. The event stream answers any origin. */
  @Matches(/^(https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(,https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?)*)?$/, {
    message: 'must be comma-separated origins like https://shop.example or http://127.0.0.1:8080 (scheme, host, optional port; no path)',
  })
  CORS_ORIGINS: string = '';

  get sseGapWaitMs(): number {
    return this.SSE_GAP_WAIT_MS || Math.max(...this.retryDelaysMs) + 10_000;
  }

  /** tenant by the full `Authorization` header value (`Bearer <key>`), built once. */
  get tenantsByAuthorization(): Map<string, string> {
    return tenantsByAuthorization(this.API_KEYS);
  }
}

/** What the platform runs of order-receiving: its schema's migrations and its two status queues (quiet and bulk lanes), with their concurrency. */
export const orderReceivingService = (cfg: OrderReceivingEnv): ServiceSpec => ({
  name: 'order-receiving',
  migrations,
  queues: { 'order-receiving.status': cfg.CONSUMER_CONCURRENCY, 'order-receiving.status-bulk': cfg.CONSUMER_CONCURRENCY },
});
