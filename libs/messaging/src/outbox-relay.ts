import { Logger } from '@nestjs/common';
import { PgListener } from '@orders/persistence';
import { DataSource } from 'typeorm';
import { AmqpConnection } from './amqp-connection';
import { OutboxRow, outboxChannel } from './outbox';
import { outboxPublished } from './metrics';
import { traceHeaders } from './tracing';

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
  private retry?: NodeJS.Timeout;
  /** Consecutive failed batches (database or broker away): the wait before the next try grows. */
  private failures = 0;
  private started = false;
  /** Publishes of rows their writer hands over right after commit (publishNow), still in flight. */
  private readonly direct = new Set<Promise<void>>();
  /** The last DELETE of published rows, and the batch gathering for the next one (deleteSoon). */
  private deleting: Promise<void> = Promise.resolve();
  private gathering?: { seqs: string[]; done: Promise<void> };

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
    this.started = true;
    this.wake();
  }

  /** Resolves when everything currently in the outbox has been relayed (used by tests and shutdown). */
  async flush(): Promise<void> {
    while (this.draining || this.direct.size > 0) {
      if (this.draining) await this.draining;
      await Promise.allSettled([...this.direct]);
    }
  }

  /** Whether a writer should publish its rows itself right after commit (the relay runs and the broker is there). */
  get canPublishDirectly(): boolean {
    return this.started && !this.stopped && this.amqp.isConnected;
  }

  /**
   * Publishes just-committed rows (written with `direct`) with confirms and
   * deletes them: no NOTIFY, no relay transaction. If the broker refuses or
   * is gone, the rows are handed to the relay at once (their relay_after
   * cleared, the relay woken); if even that fails, the relay's sweep takes
   * them once their relay_after has passed. A row published here and again
   * by the relay (a slow confirm) is a duplicate the consumers' inboxes absorb.
   */
  publishNow(rows: readonly OutboxRow[], seqs: readonly string[]): void {
    const p = this.publishDirect(rows, seqs).finally(() => this.direct.delete(p));
    this.direct.add(p);
  }

  private async publishDirect(rows: readonly OutboxRow[], seqs: readonly string[]): Promise<void> {
    try {
      await this.amqp.publishConfirmed(rows.map((r) => ({ id: r.id, name: r.name, raw: r.raw, priority: r.priority, headers: r.traceContext ? traceHeaders(r.traceContext) : undefined })));
    } catch (e) {
      this.logger.warn(`publishing ${rows.length} message(s) after commit failed (${(e as Error).message}); the relay takes them`);
      await this.ds
        .query(`WITH h AS (UPDATE outbox SET relay_after = NULL WHERE seq = ANY($1::bigint[]) RETURNING 1) SELECT pg_notify($2, '') FROM (SELECT count(*) FROM h) c`, [seqs, outboxChannel(this.o.schema)])
        .catch(() => undefined); // the sweep takes them after relay_after
      return;
    }
    outboxPublished.inc(rows.length);
    await this.deleteSoon(seqs);
  }

  /**
   * Deletes published rows, many writers' at once: while one DELETE runs, the
   * rows published meanwhile gather for the next (one statement for a whole
   * burst instead of one per transaction). A row left behind (database away
   * now) is published again by the sweep after its relay_after: a duplicate
   * the consumers' inboxes absorb.
   */
  private deleteSoon(seqs: readonly string[]): Promise<void> {
    if (!this.gathering) {
      const batch: string[] = [];
      const done = this.deleting.then(async () => {
        if (this.gathering?.seqs === batch) this.gathering = undefined; // later rows gather for the next DELETE
        await this.ds.query('DELETE FROM outbox WHERE seq = ANY($1::bigint[])', [batch]).catch(() => undefined);
      });
      this.gathering = { seqs: batch, done };
      this.deleting = done;
    }
    this.gathering.seqs.push(...seqs);
    return this.gathering.done;
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
        const delay = Math.min(10000, 500 * 2 ** this.failures++);
        this.logger.warn(`relay batch failed, will retry in ${delay} ms: ${(e as Error).message}`);
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.wake(), delay).unref();
        return;
      }
      this.failures = 0;
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
           SELECT seq FROM outbox WHERE relay_after IS NULL OR relay_after <= now() ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
         ) RETURNING seq, id, routing_key, body, priority, trace_context`,
        [this.o.batchSize ?? 500],
        true,
      );
      const rows = result.records as Array<{ seq: string; id: string; routing_key: string; body: string; priority: number | null; trace_context: string | null }>;
      if (rows.length === 0) {
        await qr.commitTransaction();
        return 0;
      }
      rows.sort((a, b) => Number(a.seq) - Number(b.seq));
      await this.amqp.publishConfirmed(rows.map((r) => ({ id: r.id, name: r.routing_key, raw: r.body, priority: r.priority ?? undefined, headers: r.trace_context ? traceHeaders(r.trace_context) : undefined })));
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


  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweep);
    clearTimeout(this.retry);
    await this.flush();
    await this.listener.stop();
  }
}
