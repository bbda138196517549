import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Length, Matches, Max, Min, ValidateBy } from 'class-validator';
import { BaseEnv, Secret, IsApiKeys, ServiceSpec, tenantsByAuthorization } from '@orders/platform';
import { migrations } from './migrations';
import { AddressPolicy, parseCidr } from './webhooks/address-guard';
import { parseSchedule } from './webhooks/schedule';


/** A comma-separated list of CIDRs, each one parsed (empty is fine). */
const IsCidrList = () =>
  ValidateBy({
    name: 'isCidrList',
    validator: {
      validate: (v: unknown) => {
        if (typeof v !== 'string') return false;
        try {
          if (v) v.split(',').forEach(parseCidr);
          return true;
        } catch {
          return false;
        }
      },
      defaultMessage: () => 'must be comma-separated CIDRs like 10.0.0.0/8 or fd00::/8',
    },
  });

export class NotificationEnv extends BaseEnv {
  override PORT: number = 3002;
  override DB_SCHEMA: string = 'notification';

  /** SMTP relay for customer email (the dev mail catcher or Mailpit listen on 1025). */
  @IsString() @Length(1, 255)
  SMTP_HOST: string = '127.0.0.1';

  @Type(() => Number) @IsInt() @Min(1) @Max(65535)
  SMTP_PORT: number = 1025;

  /** Connect, greeting and socket timeout of one SMTP send. */
  @Type(() => Number) @IsInt() @Min(100) @Max(120000)
  SMTP_TIMEOUT_MS: number = 10000;

  /** How long an email the SMTP server refuses for now (4xx) is tried again before it is given up (retried, then dead-lettered). */
  @Type(() => Number) @IsInt() @Min(1000) @Max(30 * 24 * 3600 * 1000)
  EMAIL_TEMP_FAILURE_MAX_MS: number = 3 * 24 * 3600 * 1000;

  /** Sender of customer email, e.g. `"Shop" <orders@shop.example>`. */
  @IsString() @Length(3, 320)
  MAIL_FROM: string = '"Orders" <orders@orders.local>';

  /** Status events handled at once (channel prefetch); each may hold a DB connection while it sends. */
  @Type(() => Number) @IsInt() @Min(1) @Max(100)
  CONSUMER_CONCURRENCY: number = 4;

  /** Storefront API keys, `tenant:key,...` (the same as order-receiving's): tenants register webhooks with them. */
  @IsApiKeys() @Secret()
  API_KEYS: string = 'demo:demo-key,acme:acme-key';

  /** Per-tenant sustained request rate of the webhooks API (token bucket refill per second, per instance). */
  @Type(() => Number) @IsInt() @Min(1) @Max(1_000_000)
  RATE_LIMIT_PER_SECOND: number = 20;

  /** Per-tenant burst of the webhooks API (token bucket size); beyond it `429` with `Retry-After`. */
  @Type(() => Number) @IsInt() @Min(1) @Max(10_000_000)
  RATE_LIMIT_BURST: number = 100;

  /**
   * Timeout of one whole webhook attempt (DNS lookup, connect, send, response
   * headers and excerpt); the attempt is aborted. It also bounds the lookup
   * of a URL being registered.
   */
  @Type(() => Number) @IsInt() @Min(100) @Max(120000)
  WEBHOOK_TIMEOUT_MS: number = 5000;

  /**
   * Delay before each attempt of a delivery: the first entry is the first
   * attempt (0 = at once), each further entry the wait after a failed one
   * (±20 % jitter). After the last attempt the delivery has failed.
   */
  @Matches(/^\d{1,9}(,\d{1,9}){0,19}$/, { message: 'must be a comma-separated list of 1-20 millisecond delays' })
  WEBHOOK_RETRY_SCHEDULE_MS: string = '0,5000,300000,1800000,7200000,18000000,36000000';

  /** An endpoint is disabled after this many deliveries in a row failed for good. */
  @Type(() => Number) @IsInt() @Min(1) @Max(100000)
  WEBHOOK_DISABLE_AFTER_FAILURES: number = 20;

  /** Webhook requests in flight at once (this instance). */
  @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  WEBHOOK_CONCURRENCY: number = 16;

  /** Requests in flight at once to one endpoint (this instance): a slow endpoint holds at most this many slots. */
  @Type(() => Number) @IsInt() @Min(1) @Max(100)
  WEBHOOK_PER_ENDPOINT_CONCURRENCY: number = 2;

  /**
   * Requests in flight at once for one tenant (this instance), whatever its
   * number of endpoints: a tenant whose endpoints all hang holds at most this
   * many of the WEBHOOK_CONCURRENCY slots, the others stay for other tenants.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  WEBHOOK_PER_TENANT_CONCURRENCY: number = 8;

  /** How long the old secret keeps signing alongside the new one after a rotation. */
  @Type(() => Number) @IsInt() @Min(0) @Max(24 * 30)
  WEBHOOK_SECRET_GRACE_HOURS: number = 24;

  /** Safety-net wake-up of the dispatcher (it is woken by NOTIFY and by a timer at the next due retry). */
  @Type(() => Number) @IsInt() @Min(100) @Max(3_600_000)
  WEBHOOK_SWEEP_MS: number = 30000;

  /** How often the broker's webhook routes (which tenants' events reach the webhook queue) are set again from the endpoints table. */
  @Type(() => Number) @IsInt() @Min(1000) @Max(86_400_000)
  WEBHOOK_ROUTES_SYNC_MS: number = 300000;

  /** Private ranges webhooks may target, comma-separated CIDRs (e.g. `10.1.0.0/16,fd00::/8`); link-local is never allowed. */
  @IsCidrList()
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: string = '';

  /** Allows webhooks to loopback addresses (npm start sets it so a local receiver works). */
  @IsIn(['true', 'false', '1', '0'], { message: 'must be true or false' })
  NOTIFICATION_ALLOW_LOOPBACK_WEBHOOKS: string = 'false';

  /**
   * Finished webhook deliveries (delivered or failed) are kept this many days
   * after they finished, with their attempts: the delivery log (and a resend)
   * reaches back this far. They carry the order's customer data. A delivery
   * still pending is never deleted.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(3650)
  WEBHOOK_DELIVERIES_RETENTION_DAYS: number = 30;

  /** Sent customer emails (full bodies) are kept this many days after sending; an email not yet sent is never deleted. */
  @Type(() => Number) @IsInt() @Min(1) @Max(3650)
  EMAILS_RETENTION_DAYS: number = 30;

  /** How often deliveries and emails past their retention are deleted (in batches, safe with several instances). */
  @Type(() => Number) @IsInt() @Min(100) @Max(86_400_000)
  RETENTION_PRUNE_INTERVAL_MS: number = 3_600_000;

  get webhookSchedule(): number[] {
    return parseSchedule(this.WEBHOOK_RETRY_SCHEDULE_MS);
  }

  get addressPolicy(): AddressPolicy {
    const cidrs = this.WEBHOOK_ALLOW_PRIVATE_NETWORKS ? this.WEBHOOK_ALLOW_PRIVATE_NETWORKS.split(',').map(parseCidr) : [];
    return { allowLoopback: this.NOTIFICATION_ALLOW_LOOPBACK_WEBHOOKS === 'true' || this.NOTIFICATION_ALLOW_LOOPBACK_WEBHOOKS === '1', allowNetworks: cidrs };
  }

  /** tenant by the full `Authorization` header value (`Bearer <key>`). */
  get tenantsByAuthorization(): Map<string, string> {
    return tenantsByAuthorization(this.API_KEYS);
  }
}

/** What the platform runs of notification: its schema's migrations and its queues, with their concurrency. */
export const notificationService = (cfg: NotificationEnv): ServiceSpec => ({
  name: 'notification',
  migrations,
  queues: { 'notification.email': cfg.CONSUMER_CONCURRENCY, 'notification.webhooks': cfg.CONSUMER_CONCURRENCY },
});
