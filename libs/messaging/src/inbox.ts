import { Logger } from '@nestjs/common';
import { deleteInBatches, prepared, Sql, type Statement } from '@orders/persistence';

/**
 * The inbox: which messages each queue of this service has handled (message
 * id, queue), written in the transaction of the handling, so a redelivery
 * changes nothing. Also the crash count of a message whose handling ends its
 * process. This file is the one home of both tables' SQL.
 */

const INBOX_INSERT = prepared('inbox_insert', 'INSERT INTO inbox (message_id, queue) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING message_id', ['uuid', 'text']);

/** The statement that records a message as handled on `queue`; it returns a row only the first time. */
export const inboxInsert = (messageId: string, queue: string): Statement => ({ prepared: INBOX_INSERT, params: [messageId, queue] });

/** The CTE `inbox_row` over parameters $1 (message id) and $2 (queue), gated by `gate` (`FROM … WHERE …`). */
export const inboxRowCte = (gate = ''): string =>
  `inbox_row AS (INSERT INTO inbox (message_id, queue) SELECT $1::uuid, $2::text ${gate} ON CONFLICT DO NOTHING RETURNING 1)`;

/** An SQL expression over parameters $`m` (message id, uuid) and $`q` (queue, text): true when the message was already handled on that queue (UnitOfWork.seenKey). */
export const inboxSeenSql = (m: number, q: number): string => `EXISTS (SELECT 1 FROM inbox WHERE message_id = $${m} AND queue = $${q})`;

/**
 * Deletes inbox rows older than the de-duplication window, every
 * `intervalMs`, in bounded batches (safe with many instances; an outage only
 * postpones the next pass). Crash counts of messages long gone go with them.
 */
export class InboxPruner {
  private readonly logger = new Logger('InboxPruner');
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(private readonly db: Sql, private readonly o: { retentionHours: number; intervalMs: number }) {}

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
    const hours = [this.o.retentionHours];
    const n = await deleteInBatches(this.db, 'inbox', 'processed_at < now() - make_interval(hours => $1)', hours);
    await deleteInBatches(this.db, 'delivery_crashes', 'updated_at < now() - make_interval(hours => $1)', hours);
    return n;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

/**
 * Crash counts: a message that came back unacknowledged (its consumer died
 * or left holding it) is handled alone, and only while it runs is it
 * counted, in a row committed before its handler starts and deleted once it
 * has been answered. Its neighbours in a batch or in the prefetch, which
 * came back with it, are never counted for it.
 */
export class CrashCounts {
  constructor(private readonly db: Sql) {}

  /** Counts one more start of this message's handling; returns how many there were before this one that never finished. */
  async starting(messageId: string, queue: string): Promise<number> {
    const rows = await this.db.query<{ crashes: number }>(
      `INSERT INTO delivery_crashes (message_id, queue, crashes) VALUES ($1, $2, 0)
       ON CONFLICT (message_id, queue) DO UPDATE SET crashes = delivery_crashes.crashes + 1, updated_at = now()
       RETURNING crashes`,
      [messageId, queue],
    );
    return rows[0].crashes;
  }

  async finished(messageId: string, queue: string): Promise<void> {
    await this.db.query('DELETE FROM delivery_crashes WHERE message_id = $1 AND queue = $2', [messageId, queue]);
  }
}
