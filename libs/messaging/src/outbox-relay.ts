import { Logger } from '@nestjs/common';
import { PgListener } from '@orders/persistence';
import { DataSource } from 'typeorm';
import { AmqpConnection } from './amqp-connection';
import { outboxChannel } from './outbox';
import { outboxPublished } from './metrics';

export interface OutboxRelayOptions {
  /** Connection string for the dedicated LISTEN connection (same database as the DataSource). */
  databaseUrl: string;
  schema: string;
  batchSize?: number;
  /**
   * Safety-net sweep interval. The relay is woken by NOTIFY on every commit;
   * the sweep only covers notifications lost while the LISTEN connection was down.
   */
  sweepMs?: number;
  /** Inbox rows older than this are deleted (de-duplication window). */
  inboxRetentionHours?: number;
}

/**
 * Moves committed outbox rows to the broker: woken by PostgreSQL NOTIFY,
 * it takes a batch with FOR UPDATE SKIP LOCKED (so replicas share the work),
 * publishes it with publisher confirms and deletes it in the same
 * transaction. A crash between confirm and commit republishes the batch;
 * consumers' inboxes absorb the duplicate.
 */
export class OutboxRelay {
  private readonly logger = new Logger('OutboxRelay');
  private readonly listener: PgListener;
  private draining?: Promise<void>;
  private again = false;
  private stopped = false;
  private sweep?: NodeJS.Timeout;
  private prune?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;

  constructor(private readonly ds: DataSource, private readonly amqp: AmqpConnection, private readonly o: OutboxRelayOptions) {
    this.listener = new PgListener({
      url: o.databaseUrl,
      channel: outboxChannel(o.schema),
      applicationName: `outbox-relay:${o.schema}`,
      onNotify: () => this.wake(),
      onListening: () => this.wake(), // catch up on anything committed while we were not listening
    });
  }

  async start(): Promise<void> {
    await this.listener.start();
    await this.amqp.onConnected(async () => {
      this.wake();
    });
    this.sweep = setInterval(() => this.wake(), this.o.sweepMs ?? 10000).unref();
    this.prune = setInterval(() => void this.pruneInbox(), 15 * 60 * 1000).unref();
    this.wake();
  }

  /** Resolves when everything currently in the outbox has been relayed (used by tests and shutdown). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drainLoop().finally(() => {
      this.draining = undefined;
    });
  }

  private async drainLoop(): Promise<void> {
    do {
      this.again = false;
      if (!this.amqp.isConnected) return; // the reconnect hook wakes us
      let n: number;
      try {
        n = await this.drainBatch();
      } catch (e) {
        this.logger.warn(`relay batch failed, will retry: ${(e as Error).message}`);
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.wake(), 1000).unref();
        return;
      }
      if (n >= (this.o.batchSize ?? 500)) this.again = true;
    } while (this.again && !this.stopped);
  }

  private async drainBatch(): Promise<number> {
    const qr = this.ds.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      // Structured result: TypeORM returns [rows, count] for a plain DELETE ... RETURNING.
      const result = await qr.query(
        `DELETE FROM outbox WHERE seq IN (
           SELECT seq FROM outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
         ) RETURNING seq, id, routing_key, body, priority`,
        [this.o.batchSize ?? 500],
        true,
      );
      const rows = result.records as Array<{ seq: string; id: string; routing_key: string; body: string; priority: number | null }>;
      if (rows.length === 0) {
        await qr.commitTransaction();
        return 0;
      }
      rows.sort((a, b) => Number(a.seq) - Number(b.seq));
      await this.amqp.publishConfirmed(rows.map((r) => ({ id: r.id, name: r.routing_key, raw: r.body, priority: r.priority ?? undefined })));
      await qr.commitTransaction();
      outboxPublished.inc(rows.length);
      return rows.length;
    } catch (e) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await qr.release();
    }
  }

  private async pruneInbox(): Promise<void> {
    const hours = this.o.inboxRetentionHours ?? 168;
    await this.ds
      .query(`DELETE FROM inbox WHERE processed_at < now() - make_interval(hours => $1)`, [hours])
      .catch((e: Error) => this.logger.warn(`inbox prune failed: ${e.message}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweep);
    clearInterval(this.prune);
    clearTimeout(this.retry);
    await this.flush();
    await this.listener.stop();
  }
}
