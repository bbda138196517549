import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { BaseEnv, ServiceSpec } from '@orders/platform';
import { migrations } from './migrations';

export class InventoryEnv extends BaseEnv {
  override PORT: number = 3001;
  override DB_SCHEMA: string = 'inventory';
  /** At least CONSUMER_CONCURRENCY, plus the relay, the expiry timer and admin calls. */
  override DB_POOL_SIZE: number = 20;

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

/** What the platform runs of inventory: its schema's migrations and its queue, with its concurrency. */
export const inventoryService = (cfg: InventoryEnv): ServiceSpec => ({
  name: 'inventory',
  migrations,
  queues: { 'inventory.commands': cfg.CONSUMER_CONCURRENCY },
});
