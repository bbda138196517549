import { Type } from 'class-transformer';
import { IsInt, Length, Max, Min } from 'class-validator';
import { BaseEnv, Secret } from '@orders/platform';

export class InventoryEnv extends BaseEnv {
  override PORT: number = 3001;
  override DB_SCHEMA: string = 'inventory';
  /** At least CONSUMER_CONCURRENCY, plus the relay, the expiry timer and admin calls. */
  override DB_POOL_SIZE: number = 20;

  /** Bearer token for the admin REST surface (products). */
  @Length(8, 256) @Secret()
  ADMIN_TOKEN: string = 'dev-admin-token';

  /** Commands handled at once (channel prefetch). */
  @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  CONSUMER_CONCURRENCY: number = 16;

  /** How long a reservation holds stock before it expires and returns to stock. */
  @Type(() => Number) @IsInt() @Min(1) @Max(86400)
  RESERVATION_TTL_SECONDS: number = 900;

  /**
   * Longest pause between two expiry sweeps. The service also wakes exactly at
   * the next expiry it knows of; the sweep catches reservations made by other
   * instances and anything a restart interrupted.
   */
  @Type(() => Number) @IsInt() @Min(50) @Max(3600000)
  RESERVATION_SWEEP_MS: number = 5000;
}
