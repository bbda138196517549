import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { every } from '@orders/platform';
import { OrderProcessingEnv } from '../config';
import { SagaService } from './saga.service';

/**
 * Every accepted order ends: every WATCHDOG_INTERVAL_MS, orders not final
 * after ORDER_MAX_AGE_MS are failed with full compensation. Safe with many
 * instances (rows are taken with SKIP LOCKED); a database outage only
 * postpones the next look.
 */
@Injectable()
export class OrderWatchdog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Watchdog');
  private job?: { stop(): Promise<void> };

  constructor(private readonly saga: SagaService, private readonly cfg: OrderProcessingEnv) {}

  onApplicationBootstrap(): void {
    this.job = every(
      this.cfg.WATCHDOG_INTERVAL_MS,
      async () => {
        await this.sweep();
      },
      (e) => this.logger.warn(`watchdog pass failed, will look again: ${e.message}`),
    );
  }

  /** Fails overdue orders in batches until none is left. */
  async sweep(): Promise<number> {
    let total = 0;
    for (let n = await this.saga.failOverdue(); n > 0; n = await this.saga.failOverdue()) total += n;
    if (total) this.logger.warn(`failed ${total} order(s) older than ${this.cfg.ORDER_MAX_AGE_MS} ms`);
    return total;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.job?.stop();
  }
}
