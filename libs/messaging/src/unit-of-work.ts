import { Envelope, MessageName, PayloadOf } from '@orders/contracts';
import { sqlLiteral } from '@orders/persistence';
import type { PoolClient, QueryResult } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { currentMessage } from './message-context';
import { OutboxRow, outboxInsertSql, toOutboxRow } from './outbox';
import type { OutboxRelay } from './outbox-relay';

/** What a transactional step sees: the transaction's EntityManager and an outbox to publish through. */
export interface Tx {
  manager: EntityManager;
  /** Queues a message; it is written to the outbox in this transaction and published after commit. */
  publish<N extends MessageName>(name: N, payload: PayloadOf<N>, opts?: { correlationId?: string; id?: string; priority?: number }): void;
  /** Runs `fn` once the transaction has committed (metrics of what it did); never if it rolls back. */
  afterCommit(fn: () => void): void;
}

/** A row as the driver returns it. */
export type ResultRow = Record<string, unknown>;

export const DUPLICATE = Symbol('duplicate message');
export type Outcome<T> = T | typeof DUPLICATE;

/**
 * The only way services write: one database transaction that also carries
 * its outgoing messages (outbox) and, for a consumed message, the inbox row
 * that makes redelivery a no-op.
 */
export class UnitOfWork {
  /** `relay`: publishes a transaction's messages right after its commit (else only the relay, woken by NOTIFY, does). */
  constructor(private readonly ds: DataSource, private readonly schema: string, private readonly relay?: OutboxRelay) {}

  /**
   * Runs `fn` in a transaction; messages it publishes are committed with it
   * and, while the relay runs and the broker is connected, published straight
   * after the commit (one hop less than NOTIFY → relay transaction); the relay
   * takes over any the writer could not publish.
   */
  async transaction<T>(fn: (tx: Tx) => Promise<T>, correlationId?: string): Promise<T> {
    return this.run('BEGIN', (tx) => fn(tx), correlationId);
  }

  /**
   * Handles a consumed message exactly once per consuming queue: records its
   * id (with the queue being consumed, so two queues of one service carrying
   * the same message each handle it) in the inbox in the same transaction as
   * its effects. A message already recorded returns
   * DUPLICATE without running `fn`; a concurrent duplicate waits on the
   * inbox row and then sees it. `first`: statements (literal values) to run in
   * the same round trip, after the inbox row; `fn` gets their rows, one array
   * per statement (a saga step locks its order this way).
   */
  async handleOnce<N extends MessageName, T>(env: Envelope<N>, fn: (tx: Tx, first: ResultRow[][]) => Promise<T>, first?: string): Promise<Outcome<T>> {
    const inbox = `INSERT INTO inbox (message_id, queue) VALUES (${sqlLiteral(env.id)}::uuid, ${sqlLiteral(currentMessage.getStore()?.queue ?? '')})
      ON CONFLICT DO NOTHING RETURNING message_id`;
    return this.run<Outcome<T>>(
      first ? `BEGIN; ${inbox}; ${first}` : `BEGIN; ${inbox}`,
      (tx, begun) => (begun[1].rowCount === 0 ? Promise.resolve(DUPLICATE) : fn(tx, begun.slice(2).map((r) => r.rows))),
      env.correlationId ?? (env.payload as { orderId?: string }).orderId,
    );
  }

  /**
   * One transaction on one pooled connection. Every round trip adds to a
   * step's time, so the transaction opens in the same round trip
   * as its first statement (`begin`: BEGIN, and for a consumed message its
   * inbox row) and the outbox rows go with the COMMIT; both use the simple
   * query protocol (literal values), which allows several statements in one
   * message. A failing statement skips the rest of its message (the COMMIT
   * too) and the transaction is rolled back.
   */
  private async run<T>(begin: string, fn: (tx: Tx, begun: QueryResult<ResultRow>[]) => Promise<T>, correlationId?: string): Promise<T> {
    const committed: Array<() => void> = [];
    const rows: OutboxRow[] = [];
    const direct = this.relay?.canPublishDirectly ?? false;
    const qr = this.ds.createQueryRunner();
    const client = (await qr.connect()) as PoolClient;
    // statements through the manager run on this connection, inside this transaction (TypeORM must not open its own)
    (qr as { isTransactionActive: boolean }).isTransactionActive = true;
    try {
      const begun = await client.query(begin);
      const tx: Tx = {
        afterCommit: (f) => committed.push(f),
        manager: qr.manager,
        publish: (name, payload, opts) => {
          rows.push(toOutboxRow(name, payload, { correlationId: opts?.correlationId ?? correlationId, id: opts?.id, priority: opts?.priority }));
        },
      };
      const result = await fn(tx, Array.isArray(begun) ? (begun as unknown as QueryResult<ResultRow>[]) : [begun]);
      let seqs: string[] = [];
      if (rows.length > 0) {
        const done = (await client.query(`${outboxInsertSql(this.schema, rows, direct)}; COMMIT`)) as unknown as QueryResult[];
        seqs = direct ? done[0].rows.map((r: { seq: string }) => r.seq) : [];
      } else {
        await client.query('COMMIT');
      }
      for (const f of committed) f();
      if (direct && seqs.length > 0) this.relay!.publishNow(rows, seqs);
      return result;
    } catch (e) {
      // after a failed statement the transaction block stays open (aborted) until rolled back; on a lost connection this fails too
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      (qr as { isTransactionActive: boolean }).isTransactionActive = false;
      await qr.release();
    }
  }

  /**
   * handleOnce in one statement, for a handler whose whole effect is one SQL
   * statement that publishes nothing: `sql` may use the CTE `inbox_row`
   * (one row when the message is new, none for a redelivery) to gate every
   * write, and its parameters start at $3 ($1, $2 are the message id and the
   * consuming queue). `inboxGate` (a `FROM … WHERE …` over parameters) makes
   * the inbox row itself conditional, e.g. on the order being known, so a
   * message the handler rejects is not recorded as handled. One statement is
   * one transaction: the effects and the inbox row commit together, in one
   * round trip instead of four (BEGIN, inbox, effect, COMMIT).
   */
  async handleOnceInOneStatement<R>(env: Envelope, ctes: string, select: string, params: unknown[], inboxGate = ''): Promise<R[]> {
    const sql = `WITH inbox_row AS (
        INSERT INTO inbox (message_id, queue) SELECT $1::uuid, $2::text ${inboxGate} ON CONFLICT DO NOTHING RETURNING 1
      )${ctes ? `, ${ctes}` : ''}
      ${select}`;
    return (await this.ds.query(sql, [env.id, currentMessage.getStore()?.queue ?? '', ...params])) as R[];
  }

  /**
   * An SQL expression (literal values), true when this message was already
   * handled on the queue being consumed: the cheap check before a slow
   * external call, inside the statement that reads what that call needs.
   */
  seenSql(messageId: string): string {
    return `EXISTS (SELECT 1 FROM inbox WHERE message_id = ${sqlLiteral(messageId)}::uuid AND queue = ${sqlLiteral(currentMessage.getStore()?.queue ?? '')})`;
  }
}
