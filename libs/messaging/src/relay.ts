import { Logger } from '@nestjs/common';
import { PgListener } from '@orders/persistence';
import type { Pool, QueryResult } from 'pg';
import type { AmqpConnection } from './connection';
import { outboxPublished } from './metrics';
import { toOutgoing } from './outbox';
import { packMessages } from './packing';
import type { Topology } from './schema';
import { onLostConnection } from './unit-of-work';

export interface OutboxRelayOptions {
  /** Connection string for the dedicated LISTEN connection (same database as the pool). */
  databaseUrl: string;
  /** The NOTIFY channel writers wake it on (Outbox.channel). */
  channel: string;
  batchSize?: number;
  /**
   * Safety-net sweep interval. The relay is woken by NOTIFY on every commit;
   * the sweep only covers notifications lost while the LISTEN connection was down.
   */
  sweepMs?: number;
  /** Most messages of one routing key sent as one broker message (packing.ts); default 1: each on its own. */
  packMax?: number;
  /** The application's topology: which queues a routing key reaches (packing keeps their order). */
  topology?: Topology;
}

/**
 * The outbox's fallback reader: rows their writer could not publish (the
 * broker was away at commit, or the writer died before publishing; see
 * Outbox). Woken by PostgreSQL NOTIFY and by a sweep, it takes a batch of due
 * rows with FOR UPDATE SKIP LOCKED (so replicas share the work), publishes it
 * with publisher confirms and deletes it in the same transaction. A crash
 * between confirm and commit republishes the batch; consumers' inboxes
 * absorb the duplicate.
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
  /**
   * Wake-ups for delayed rows, one per 50 ms slot they are due in, with the
   * rows of this process still waiting in it: a slot whose rows were all
   * taken back (withdrawn) wakes nobody.
   */
  private readonly due = new Map<number, { timer: NodeJS.Timeout; ids: Set<string> }>();
  /** The slot of each delayed row this process committed and no transaction took back. */
  private readonly slotOf = new Map<string, number>();

  constructor(private readonly pool: Pool, private readonly amqp: AmqpConnection, private readonly o: OutboxRelayOptions) {
    this.listener = new PgListener({
      url: o.databaseUrl,
      channel: o.channel,
      applicationName: `outbox-relay:${o.channel}`,
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
    this.wake();
  }

  /** Resolves when the batch being relayed (and any due after it) has been published. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /**
   * Wakes the relay once `inMs` has passed, for the delayed rows `ids` just
   * committed (several in one 50 ms slot share one wake-up), unless every
   * row of that slot has been withdrawn by then.
   */
  wakeIn(inMs: number, ids: readonly string[]): void {
    if (this.stopped) return;
    const slot = Math.ceil((Date.now() + inMs) / 50) * 50;
    let entry = this.due.get(slot);
    if (!entry) {
      const waiting = new Set<string>();
      const timer = setTimeout(() => {
        this.due.delete(slot);
        if (waiting.size === 0) return; // all of them taken back: nothing to relay
        for (const id of waiting) this.slotOf.delete(id);
        this.wake();
      }, Math.max(0, slot - Date.now()) + 5);
      timer.unref();
      this.due.set(slot, (entry = { timer, ids: waiting }));
    }
    for (const id of ids) {
      entry.ids.add(id);
      this.slotOf.set(id, slot);
    }
  }

  /** Delayed rows a committed transaction took back (Outbox.withdrawn): their slot no longer needs a wake-up for them. */
  withdrawn(ids: readonly string[]): void {
    for (const id of ids) {
      const slot = this.slotOf.get(id);
      if (slot === undefined) continue; // not this process's, or already relayed
      this.slotOf.delete(id);
      this.due.get(slot)?.ids.delete(id);
    }
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
    const c = await this.pool.connect();
    const unlisten = onLostConnection(c);
    try {
      // the BEGIN travels with the DELETE: a batch is two round trips, this one and the COMMIT
      const [, taken] = (await c.query(
        `BEGIN; DELETE FROM outbox WHERE seq IN (
           SELECT seq FROM outbox WHERE relay_after IS NULL OR relay_after <= now() ORDER BY seq LIMIT ${Math.trunc(this.o.batchSize ?? 500)} FOR UPDATE SKIP LOCKED
         ) RETURNING seq, id, routing_key, body, trace_context`,
      )) as unknown as [unknown, QueryResult<{ seq: string; id: string; routing_key: string; body: string; trace_context: string | null }>];
      const rows = taken.rows;
      if (rows.length > 0) {
        rows.sort((a, b) => Number(a.seq) - Number(b.seq));
        const out = rows.map((r) => toOutgoing({ id: r.id, name: nameOf(r.body, r.routing_key), routingKey: r.routing_key, raw: r.body, traceContext: r.trace_context }));
        await this.amqp.publishConfirmed(this.o.topology ? packMessages(this.o.topology, out, this.o.packMax ?? 1) : out);
      }
      await c.query('COMMIT');
      outboxPublished.inc(rows.length);
      return rows.length;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      unlisten();
      c.release();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweep);
    clearTimeout(this.retry);
    for (const d of this.due.values()) clearTimeout(d.timer);
    this.due.clear();
    this.slotOf.clear();
    await this.flush();
    await this.listener.stop();
  }
}

/** The message name of a stored envelope (its `name`), for the AMQP `type`; the routing key if it cannot be read. */
function nameOf(body: string, routingKey: string): string {
  try {
    const name = (JSON.parse(body) as { name?: unknown }).name;
    return typeof name === 'string' ? name : routingKey;
  } catch {
    return routingKey;
  }
}
