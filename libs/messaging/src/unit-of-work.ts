import { Envelope, MessageName, PayloadOf } from '@orders/contracts';
import { DataSource, EntityManager } from 'typeorm';
import { OutboxRow, toOutboxRow, writeOutbox } from './outbox';

/** What a transactional step sees: the transaction's EntityManager and an outbox to publish through. */
export interface Tx {
  manager: EntityManager;
  /** Queues a message; it is written to the outbox in this transaction and published after commit. */
  publish<N extends MessageName>(name: N, payload: PayloadOf<N>, opts?: { correlationId?: string; id?: string; priority?: number }): void;
}

export const DUPLICATE = Symbol('duplicate message');
export type Outcome<T> = T | typeof DUPLICATE;

/**
 * The only way services write: one database transaction that also carries
 * its outgoing messages (outbox) and, for a consumed message, the inbox row
 * that makes redelivery a no-op.
 */
export class UnitOfWork {
  constructor(private readonly ds: DataSource, private readonly schema: string) {}

  /** Runs `fn` in a transaction; messages it publishes are committed with it. */
  async transaction<T>(fn: (tx: Tx) => Promise<T>, correlationId?: string): Promise<T> {
    return this.ds.transaction(async (manager) => {
      const rows: OutboxRow[] = [];
      const tx: Tx = {
        manager,
        publish: (name, payload, opts) => {
          rows.push(toOutboxRow(name, payload, { correlationId: opts?.correlationId ?? correlationId, id: opts?.id, priority: opts?.priority }));
        },
      };
      const result = await fn(tx);
      await writeOutbox(manager, this.schema, rows);
      return result;
    });
  }

  /**
   * Handles a consumed message exactly once: records its id in the inbox in
   * the same transaction as its effects. A message already recorded returns
   * DUPLICATE without running `fn`; a concurrent duplicate waits on the
   * inbox row and then sees it.
   */
  async handleOnce<N extends MessageName, T>(env: Envelope<N>, fn: (tx: Tx) => Promise<T>): Promise<Outcome<T>> {
    return this.transaction(async (tx) => {
      const inserted: unknown[] = await tx.manager.query(
        'INSERT INTO inbox (message_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING message_id',
        [env.id],
      );
      if (inserted.length === 0) return DUPLICATE;
      return fn(tx);
    }, env.correlationId ?? (env.payload as { orderId?: string }).orderId);
  }

  /** True when this message was already handled (cheap check before a slow external call). */
  async seen(messageId: string): Promise<boolean> {
    const rows: unknown[] = await this.ds.query('SELECT 1 FROM inbox WHERE message_id = $1', [messageId]);
    return rows.length > 0;
  }
}
