import { AsyncLocalStorage } from 'node:async_hooks';
import { Envelope, MessageName, PayloadOf } from '@orders/contracts';
import { sqlLiteral } from '@orders/persistence';
import type { PoolClient, QueryResult } from 'pg';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';
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

/** One transaction shared by the handlers of a batch of consumed messages (UnitOfWork.inBatch). */
interface Batch {
  qr: QueryRunner;
  client: PoolClient;
  rows: OutboxRow[];
  committed: Array<() => void>;
  /** Set once the batch committed or rolled back: work started later runs on its own. */
  over: boolean;
  /** The transaction opens with the batch's first statement (one round trip less); a batch that wrote nothing opens none. */
  begun: boolean;
}

/**
 * The only way services write: one database transaction that also carries
 * its outgoing messages (outbox) and, for a consumed message, the inbox row
 * that makes redelivery a no-op.
 */
export class UnitOfWork {
  private readonly batch = new AsyncLocalStorage<Batch>();

  /** `relay`: publishes a transaction's messages right after its commit (else only the relay, woken by NOTIFY, does). */
  constructor(private readonly ds: DataSource, private readonly schema: string, private readonly relay?: OutboxRelay) {}

  /**
   * Runs `fn` in a transaction; messages it publishes are committed with it
   * and, while the relay runs and the broker is connected, published straight
   * after the commit (one hop less than NOTIFY → relay transaction); the relay
   * takes over any the writer could not publish.
   */
  async transaction<T>(fn: (tx: Tx) => Promise<T>, correlationId?: string): Promise<T> {
    return this.run(undefined, (tx) => fn(tx), correlationId);
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
      first ? `${inbox}; ${first}` : inbox,
      (tx, begun) => (begun[0].rowCount === 0 ? Promise.resolve(DUPLICATE) : fn(tx, begun.slice(1).map((r) => r.rows))),
      env.correlationId ?? (env.payload as { orderId?: string }).orderId,
    );
  }

  /**
   * Runs `fn`, the handlers of several consumed messages one after another,
   * as one transaction: every `handleOnce`, `transaction` and
   * `handleOnceInOneStatement` inside it runs on that transaction's
   * connection, their outbox rows are written in one statement with the one
   * COMMIT, and published after it. A batch of messages so costs one commit
   * (one WAL flush), one connection checkout and one outbox statement
   * instead of one each. If anything fails, the whole batch rolls back and
   * the caller handles each message on its own (AmqpTransport). Only for
   * handlers whose every write goes through this unit of work.
   */
  async inBatch<T>(fn: () => Promise<T>): Promise<T> {
    const qr = this.ds.createQueryRunner();
    const client = (await qr.connect()) as PoolClient;
    const b: Batch = { qr, client, rows: [], committed: [], over: false, begun: false };
    (qr as { isTransactionActive: boolean }).isTransactionActive = true;
    try {
      const result = await this.batch.run(b, fn);
      b.over = true;
      if (b.begun) await this.commit(client, b.rows, b.committed);
      return result;
    } catch (e) {
      b.over = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      (qr as { isTransactionActive: boolean }).isTransactionActive = false;
      await qr.release();
    }
  }

  /**
   * One transaction on one pooled connection. Every round trip adds to a
   * step's time, so the transaction opens in the same round trip
   * as its first statements (`first`: for a consumed message its inbox row)
   * and the outbox rows go with the COMMIT; both use the simple
   * query protocol (literal values), which allows several statements in one
   * message. A failing statement skips the rest of its message (the COMMIT
   * too) and the transaction is rolled back. Inside a batch (inBatch) the
   * batch's transaction is used instead, and committed with the batch.
   */
  private async run<T>(first: string | undefined, fn: (tx: Tx, begun: QueryResult<ResultRow>[]) => Promise<T>, correlationId?: string): Promise<T> {
    const open = await this.openBatch(first);
    if (open) return fn(this.txOf(open.batch.qr.manager, open.batch.rows, open.batch.committed, correlationId), open.begun);
    const committed: Array<() => void> = [];
    const rows: OutboxRow[] = [];
    const qr = this.ds.createQueryRunner();
    const client = (await qr.connect()) as PoolClient;
    // statements through the manager run on this connection, inside this transaction (TypeORM must not open its own)
    (qr as { isTransactionActive: boolean }).isTransactionActive = true;
    try {
      const begun = asResults(await client.query(first ? `BEGIN; ${first}` : 'BEGIN')).slice(1);
      const result = await fn(this.txOf(qr.manager, rows, committed, correlationId), begun);
      await this.commit(client, rows, committed);
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
   * Inside a batch (inBatch): its transaction, opened by the batch's first
   * statement, and the results of `first` (sent in that round trip when the
   * transaction opens). Undefined outside a batch.
   */
  private async openBatch(first?: string): Promise<{ batch: Batch; begun: QueryResult<ResultRow>[] } | undefined> {
    const batch = this.batch.getStore();
    if (!batch || batch.over) return undefined;
    if (batch.begun) return { batch, begun: first ? asResults(await batch.client.query(first)) : [] };
    const begun = asResults(await batch.client.query(first ? `BEGIN; ${first}` : 'BEGIN')).slice(1);
    batch.begun = true;
    return { batch, begun };
  }

  private txOf(manager: EntityManager, rows: OutboxRow[], committed: Array<() => void>, correlationId?: string): Tx {
    return {
      afterCommit: (f) => committed.push(f),
      manager,
      publish: (name, payload, opts) => {
        rows.push(toOutboxRow(name, payload, { correlationId: opts?.correlationId ?? correlationId, id: opts?.id, priority: opts?.priority }));
      },
    };
  }

  /** Writes the outbox rows with the COMMIT, then runs the commit hooks and publishes the rows straight away where it can. */
  private async commit(client: PoolClient, rows: OutboxRow[], committed: Array<() => void>): Promise<void> {
    const direct = this.relay?.canPublishDirectly ?? false;
    let seqs: string[] = [];
    if (rows.length > 0) {
      const done = asResults(await client.query(`${outboxInsertSql(this.schema, rows, direct)}; COMMIT`));
      seqs = direct ? done[0].rows.map((r) => String(r.seq)) : [];
    } else {
      await client.query('COMMIT');
    }
    for (const f of committed) f();
    if (direct && seqs.length > 0) this.relay!.publishNow(rows, seqs);
  }

  /**
   * handleOnce in one statement, for a handler whose whole effect is one SQL
   * statement that publishes nothing: `sql` may use the CTE `inbox_row`
   * (one row when the message is new, none for a redelivery) to gate every
   * write, and its parameters start at $3 ($1, $2 are the message id and the
   * consuming queue). `inboxGate` (a `FROM … WHERE …` over parameters) makes
   * the inbox row itself conditional, e.g. on the order being known, so a
   * message the handler rejects is not recorded as handled. One statement is
   * one transaction (or part of its batch's, inBatch): the effects and the
   * inbox row commit together, in one round trip instead of four (BEGIN,
   * inbox, effect, COMMIT).
   */
  async handleOnceInOneStatement<R>(env: Envelope, ctes: string, select: string, params: unknown[], inboxGate = ''): Promise<R[]> {
    const sql = `WITH inbox_row AS (
        INSERT INTO inbox (message_id, queue) SELECT $1::uuid, $2::text ${inboxGate} ON CONFLICT DO NOTHING RETURNING 1
      )${ctes ? `, ${ctes}` : ''}
      ${select}`;
    const values = [env.id, currentMessage.getStore()?.queue ?? '', ...params];
    const open = await this.openBatch();
    if (open) return (await open.batch.client.query(sql, values)).rows as R[];
    return (await this.ds.query(sql, values)) as R[];
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

/** pg answers one result for one statement and an array for several. */
function asResults(r: QueryResult<ResultRow> | QueryResult<ResultRow>[] | never[]): QueryResult<ResultRow>[] {
  return Array.isArray(r) ? r : [r];
}
