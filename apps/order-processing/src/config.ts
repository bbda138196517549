import { Type } from 'class-transformer';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { BaseEnv, ServiceSpec } from '@orders/platform';
import { migrations } from './migrations';

export class OrderProcessingEnv extends BaseEnv {
  override PORT: number = 3003;
  override DB_SCHEMA: string = 'processing';
  /** Every concurrent step holds a connection: at least 2 × PLACED + SAGA + CANCEL + PAYMENT concurrency, plus the relay. */
  override DB_POOL_SIZE: number = 32;

  /** Base URL of the external payment gateway. */
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http:// or https:// URL' })
  PAYMENT_GATEWAY_URL: string = 'http://127.0.0.1:4000';

  /** New orders admitted at once, per lane (prefetch of order-processing.placed and of order-processing.placed-bulk). */
  @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  PLACED_CONCURRENCY: number = 4;

  /** Saga messages handled at once (prefetch of order-processing.saga). */
  @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  SAGA_CONCURRENCY: number = 16;

  /** Cancel requests decided at once (prefetch of order-processing.cancels). */
  @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  CANCEL_CONCURRENCY: number = 4;

  /** How often waiting orders are checked for a tenant that has room again (closes a rare race; see TenantAdmission). */
  @Type(() => Number) @IsInt() @Min(50) @Max(60000)
  ADMISSION_SWEEP_MS: number = 1000;

  /**
   * Fairness: most orders of one tenant processed at once while it is alone; the rest wait (PENDING) in
   * arrival order. Every later queue holds at most this many of its messages. About throughput × idle
   * accept-to-final latency keeps the pipeline busy. Another tenant's arrival drops it to TENANT_SHARED_IN_FLIGHT.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(100000)
  TENANT_MAX_IN_FLIGHT: number = 8;

  /**
   * Fairness while tenants share the platform: a tenant's cap while another tenant has orders in flight or was
   * active within TENANT_ACTIVE_WINDOW_MS (at most TENANT_MAX_IN_FLIGHT). On a CPU-bound machine every order in
   * flight slows the others: a quiet tenant's order then shares each stage with this many of a flood's. With a
   * slow gateway and several tenants flooding at once, raise it: each then gets about this ÷ latency orders/s.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(100000)
  TENANT_SHARED_IN_FLIGHT: number = 2;

  /**
   * Fairness under saturation: while shared (as above), a tenant starts at most this many orders a second on
   * this instance, so a flood leaves the machine headroom for everyone else (on a saturated machine every stage
   * of another tenant's order slows by 1/(1 − utilisation)). About half of what one instance processes for one
   * tenant alone (`npm run bench`, the flood); 0: no budget, only the cap in flight.
   */
  @Type(() => Number) @IsInt() @Min(0) @Max(100000)
  TENANT_SHARED_STARTS_PER_SECOND: number = 50;

  /**
   * The least the budget above falls to: it adapts between the two, falling while the quiet lane's orders
   * take over twice as long as when their tenant is alone here, rising while they take at most 1.5 times as
   * long (docs/ARCHITECTURE.md, Fairness). Equal to TENANT_SHARED_STARTS_PER_SECOND: a fixed rate.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(100000)
  TENANT_SHARED_STARTS_MIN_PER_SECOND: number = 10;

  /**
   * An order's PROCESSING event is sent only if the order is not final this
   * long after it started: one that ends sooner sends its final event alone,
   * carrying PROCESSING (`earlier`), one message less on the read model's,
   * webhooks' and the broker's way. 0 sends PROCESSING at once.
   */
  @Type(() => Number) @IsInt() @Min(0) @Max(60000)
  STATUS_COALESCE_MS: number = 300;

  /** How long after one of its orders was placed or ended here a tenant still counts as active (0: only orders in flight count). */
  @Type(() => Number) @IsInt() @Min(0) @Max(600000)
  TENANT_ACTIVE_WINDOW_MS: number = 1000;

  /** Captures and voids run at once (this instance); more wait for the sweep. */
  @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  PAYMENT_CONCURRENCY: number = 8;

  /** One gateway HTTP attempt is aborted after this long. */
  @Type(() => Number) @IsInt() @Min(50) @Max(120000)
  PAYMENT_TIMEOUT_MS: number = 3000;

  /** Extra attempts of a transient gateway failure inside one message delivery (same idempotency key). */
  @Type(() => Number) @IsInt() @Min(0) @Max(10)
  PAYMENT_RETRIES: number = 2;

  /** First backoff step between gateway attempts; doubles each time, full jitter. */
  @Type(() => Number) @IsInt() @Min(1) @Max(60000)
  PAYMENT_BACKOFF_BASE_MS: number = 100;

  /** Cap of one backoff step. */
  @Type(() => Number) @IsInt() @Min(1) @Max(300000)
  PAYMENT_BACKOFF_MAX_MS: number = 2000;

  /**
   * While the gateway is unavailable (breaker open, or transient errors after
   * the retries above), the payment step waits in delayed retry: the n-th wait
   * is the n-th of these delays, the last one repeating.
   */
  @Matches(/^\d{1,9}(,\d{1,9}){0,9}$/, { message: 'must be a comma-separated list of 1-10 millisecond delays' })
  PAYMENT_WAIT_DELAYS_MS: string = '1000,2000,5000,10000,20000,30000';

  /** How long an order may wait for the gateway, from its first payment attempt; then it is FAILED (payment_unavailable). */
  @Type(() => Number) @IsInt() @Min(0) @Max(86400000)
  PAYMENT_MAX_WAIT_MS: number = 600000;

  /** A void that finds no authorization keeps looking this long (one answered late may still appear); then there is nothing to void. */
  @Type(() => Number) @IsInt() @Min(0) @Max(30 * 86400000)
  PAYMENT_VOID_LOOKUP_MS: number = 86400000;

  /** How often captures and voids left by a process that died (or due again after a failure) are taken up. */
  @Type(() => Number) @IsInt() @Min(100) @Max(600000)
  PAYMENT_SWEEP_MS: number = 5000;

  /** Settled captures and voids are kept this long (refused ones until an operator settled them). */
  @Type(() => Number) @IsInt() @Min(1) @Max(3650)
  PAYMENT_JOBS_RETENTION_DAYS: number = 30;

  /**
   * An order is confirmed only while its stock hold (inventory's reservation)
   * has at least this much time left, so the commit that follows finds the
   * hold still there; otherwise it fails (reservation_expired) and is
   * compensated.
   */
  @Type(() => Number) @IsInt() @Min(0) @Max(3600000)
  RESERVATION_CONFIRM_MARGIN_MS: number = 60000;

  /** Every accepted order is final within this: the watchdog fails (with compensation) any order older. Longer than the payment wait. */
  @Type(() => Number) @IsInt() @Min(1000) @Max(7 * 86400000)
  ORDER_MAX_AGE_MS: number = 1800000;

  /** How often the watchdog looks for orders older than ORDER_MAX_AGE_MS. */
  @Type(() => Number) @IsInt() @Min(100) @Max(3600000)
  WATCHDOG_INTERVAL_MS: number = 30000;

  /** Failure percentage (within the rolling window) that opens the circuit breaker. */
  @Type(() => Number) @IsInt() @Min(1) @Max(100)
  BREAKER_ERROR_THRESHOLD_PERCENT: number = 50;

  /** Calls needed in the window before the breaker may open. */
  @Type(() => Number) @IsInt() @Min(1) @Max(10000)
  BREAKER_VOLUME_THRESHOLD: number = 10;

  /** How long the breaker stays open before letting a trial call through. */
  @Type(() => Number) @IsInt() @Min(100) @Max(600000)
  BREAKER_RESET_MS: number = 10000;

  /** Length of the breaker's rolling statistics window. */
  @Type(() => Number) @IsInt() @Min(1000) @Max(600000)
  BREAKER_WINDOW_MS: number = 10000;

  /** An order not final this long after acceptance counts in the orders_stuck gauge. */
  @Type(() => Number) @IsInt() @Min(1000) @Max(86400000)
  STUCK_AFTER_MS: number = 300000;

  get paymentWaitDelaysMs(): number[] {
    return this.PAYMENT_WAIT_DELAYS_MS.split(',').map(Number);
  }
}

/** What the platform runs of order-processing: its schema's migrations and its queues, with their concurrency. */
export const orderProcessingService = (cfg: OrderProcessingEnv): ServiceSpec => ({
  name: 'order-processing',
  migrations,
  queues: {
    'order-processing.placed': cfg.PLACED_CONCURRENCY,
    'order-processing.placed-bulk': cfg.PLACED_CONCURRENCY,
    'order-processing.cancels': cfg.CANCEL_CONCURRENCY,
    'order-processing.saga': cfg.SAGA_CONCURRENCY,
    // drained: only the previous version published to it
    'order-processing.payments': cfg.PAYMENT_CONCURRENCY,
  },
  deferDelaysMs: cfg.paymentWaitDelaysMs,
});
