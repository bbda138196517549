import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { deleteInBatches, poolOf, Sql, sqlOf } from '@orders/persistence';
import { every } from '@orders/platform';
import { DataSource } from 'typeorm';
import { NotificationEnv } from '../config';

/**
 * Deletes what notification no longer needs, every RETENTION_PRUNE_INTERVAL_MS,
 * in batches (deleteInBatches: bounded statements, rows another instance
 * holds are skipped): finished webhook deliveries past
 * WEBHOOK_DELIVERIES_RETENTION_DAYS (their attempts go with them), and sent
 * emails past EMAILS_RETENTION_DAYS. Never a pending delivery, never an
 * unsent email.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Retention');
  private readonly db: Sql;
  private job?: { stop(): Promise<void> };

  constructor(ds: DataSource, private readonly cfg: NotificationEnv) {
    this.db = sqlOf(poolOf(ds));
  }

  onApplicationBootstrap(): void {
    this.job = every(this.cfg.RETENTION_PRUNE_INTERVAL_MS, async () => void (await this.prune()), (e) => this.logger.warn(`retention prune failed, will try again: ${e.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.job?.stop();
  }

  /** One pass; how many deliveries and emails went. */
  async prune(): Promise<{ deliveries: number; emails: number }> {
    const deliveries = await deleteInBatches(
      this.db, 'webhook_deliveries', `state <> 'pending' AND finished_at < now() - make_interval(days => $1)`, [this.cfg.WEBHOOK_DELIVERIES_RETENTION_DAYS],
    );
    const emails = await deleteInBatches(this.db, 'emails', 'sent_at < now() - make_interval(days => $1)', [this.cfg.EMAILS_RETENTION_DAYS]);
    if (deliveries || emails) this.logger.log(`retention: deleted ${deliveries} webhook deliveries and ${emails} emails`);
    return { deliveries, emails };
  }
}
