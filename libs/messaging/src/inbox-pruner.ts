import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * Deletes inbox rows older than the de-duplication window, in bounded
 * batches, every `intervalMs` (every service, whether or not it publishes).
 * Safe with many instances: a batch deletes by ctid under SKIP LOCKED; a
 * database outage only postpones the next pass.
 */
export class InboxPruner {
  private readonly logger = new Logger('InboxPruner');
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(private readonly ds: DataSource, private readonly o: { retentionHours: number; intervalMs: number }) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.prune()
        .catch((e: Error) => {
          this.logger.warn(`inbox prune failed, will try again: ${e.message}`);
          return 0;
        })
        .finally(() => (this.running = undefined));
    }, this.o.intervalMs);
    this.timer.unref();
  }

  /** Deletes every expired row; returns how many. */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows: Array<{ n: number }> = await this.ds.query(
        `WITH gone AS (
           DELETE FROM inbox WHERE ctid IN (
             SELECT ctid FROM inbox WHERE processed_at < now() - make_interval(hours => $1) LIMIT 5000 FOR UPDATE SKIP LOCKED)
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [this.o.retentionHours],
      );
      total += rows[0].n;
      if (rows[0].n < 5000) return total;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
