import { AsyncLocalStorage } from 'node:async_hooks';
import { inlineParams as inlineParamsOf, isStalePlan, prepared, render, sqlOf, type Prepared, type ResultRow, type Sql, type Statement } from '@orders/persistence';
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { currentDelivery } from './context';
import { inboxInsert, inboxRowCte } from './inbox';
import { Outbox, OutboxRow } from './outbox';
import type { Envelope, MessageName, PayloadOf } from './schema';

/** What a transactional step sees: its statements, an outbox to publish through, and a hook for after the commit. */
export interface Tx extends Sql {
  /**
   * Queues a message: it is written to the outbox in this transaction and
   * published after commit; with `delayMs`, published that much later by the
   * relay, unless a later transaction withdrew it first (Outbox.withdrawSql,
   * by its `id`).
   */
  publish<N extends MessageName>(name: N, payload: PayloadOf<N>, opts?: { correlationId?: string; id?: string; delayMs?: number }): void;
  /**
   * A write whose result the step does not need: it travels with the
   * transaction's next round trip (its next query, or the COMMIT) instead of
   * one of its own. Statements keep their order, and a later query of the
   * same transaction sees it. Its failure fails the transaction there. One
   * statement per call.
   */
  later(text: string | Prepared, params?: readonly unknown[]): void;
  /** Runs `fn` once the transaction has committed; never if it rolls back. */
  afterCommit(fn: () => void): void;
}

export const DUPLICATE = Symbol('duplicate message');

/**
 * Listens for a checked-out connection's errors until the returned function
 * is called (before it is released). While a connection is checked out the
 * pool does not listen: one lost meanwhile (the database restarting) would be
 * an unhandled 'error' event, which ends the process. The statement in flight
 * fails all the same, and the pool drops the connection when it comes back.
 */
export function onLostConnection(client: PoolClient): () => void {
  client.on('error', ignoreLost);
  return () => client.removeListener('error', ignoreLost);
}
const ignoreLost = (): void => undefined;
export type Outcome<T> = T | typeof DUPLICATE;

/**
 * A handler's whole effect as one statement (UnitOfWork.handleOnceInOneStatement),
 * declared once at module load: a prepared statement whose $1 and $2 are the
 * message id and the consuming queue, `types` those of $3 onwards.
 */
export interface OneStatement {
  readonly prepared: Prepared;
}

/**
 * Declares a one-statement handler effect: `ctes` may use the CTE
 * `inbox_row` (one row when the message is new, none for a redelivery) to
 * gate every write; `select` is the statement's result (named columns);
 * `inboxGate` (`FROM … WHERE …` over the parameters) makes the inbox row
 * itself conditional, e.g. on a row being known, so a message the handler
 * rejects is not recorded as handled.
 */
export function oneStatement(name: string, o: { ctes: string; select: string; types: readonly string[]; inboxGate?: string }): OneStatement {
  const text = `WITH ${inboxRowCte(o.inboxGate ?? '')}${o.ctes ? `, ${o.ctes}` : ''}
      ${o.select}`;
  return { prepared: prepared(name, text, ['uuid', 'text', ...o.types]) };
}

/** A one-statement effect waiting, inside a batch, for the message its batch's next statements travel in. */
interface Gathered {
  statement: Statement;
  resolve: (rows: ResultRow[]) => void;
  reject: (e: unknown) => void;
}

/** One transaction on one connection, shared by every step run in it (one message's, or a batch's). */
interface Open {
  client: PoolClient;
  rows: OutboxRow[];
  /** Rows the relay publishes later (Tx.publish delayMs). */
  delayed: Array<{ row: OutboxRow; delayMs: number }>;
  /** Writes waiting for the next round trip (Tx.later). */
  pending: Statement[];
  committed: Array<() => void>;
  /** Delayed outbox rows its statements took back (Outbox.withdrawSql): the relay is told once it committed. */
  withdrawn: string[];
  /** A batch: set once it committed or rolled back (work started later runs on its own). */
  over: boolean;
  /** The transaction opens with its first statement (one round trip less); a batch that wrote nothing opens none. */
  begun: boolean;
  /** A batch: one-statement effects of this turn, sent together at its end (handleOnceInOneStatement). */
  gathered: Gathered[];
  /** A batch: its statements in flight (the next wait for them, so they keep their order and BEGIN goes first). */
  sending: Promise<unknown>;
}

/**
 * Transactions that carry their outgoing messages (outbox) and, for a
 * consumed message, the inbox row that makes a redelivery a no-op. Every
 * publish after a write goes through one of these (intake's group commit
 * writes its outbox rows with Outbox.insertCte in its own statement).
 *
 * Round trips are what a step costs: the transaction opens in the message
 * that carries its first statements (for a consumed message its inbox row),
 * and the outbox rows go in the message that carries the COMMIT; both use the
 * simple query protocol (literal values), which allows several statements in
 * one message.
 */
export class UnitOfWork {
  private readonly batch = new AsyncLocalStorage<Open>();

  /** Statements outside any transaction (a one-statement effect alone). */
  private readonly sql: Sql;

  constructor(private readonly pool: Pool, private readonly outbox: Outbox) {
    this.sql = sqlOf(pool);
  }

  /** Runs `fn` in a transaction; what it publishes is committed with it and published right after. */
  async transaction<T>(fn: (tx: Tx) => Promise<T>, correlationId?: string): Promise<T> {
    return this.run([], (tx) => fn(tx), correlationId);
  }

  /**
   * Handles a consumed message exactly once per consuming queue: records its
   * id (with the queue being consumed) in the inbox in the same transaction
   * as its effects. A message already recorded returns DUPLICATE without
   * running `fn`; a concurrent duplicate waits on the inbox row and then sees
   * it. `first`: statements to run in the same round trip, after the inbox
   * row; `fn` gets their rows, one array per statement (a step locks what it
   * changes this way).
   */
  async handleOnce<N extends MessageName, T>(env: Envelope<N>, fn: (tx: Tx, first: ResultRow[][]) => Promise<T>, first: Statement | readonly Statement[] = []): Promise<Outcome<T>> {
    return this.run<Outcome<T>>(
      [inboxInsert(env.id, currentDelivery()?.queue ?? ''), ...(Array.isArray(first) ? first : [first])],
      (tx, begun) => (begun[0].rowCount === 0 ? Promise.resolve(DUPLICATE) : fn(tx, begun.slice(1).map((r) => r.rows))),
      env.correlationId,
    );
  }

  /**
   * handleOnce in one statement (declared with oneStatement), for a handler
   * whose whole effect is that statement and publishes nothing; `params` are
   * its $3 onwards. Alone it is one transaction of one round trip; in a batch
   * it is part of the batch's transaction, and the one-statement effects
   * issued in the same turn (handlers of a batch run `together`, @OnMessage)
   * travel in one message, the batch's BEGIN and its waiting writes with
   * them: a batch of n is two round trips (this message and the COMMIT).
   */
  async handleOnceInOneStatement<R extends QueryResultRow>(env: Envelope, stmt: OneStatement, params: readonly unknown[]): Promise<R[]> {
    const statement = { prepared: stmt.prepared, params: [env.id, currentDelivery()?.queue ?? '', ...params] };
    const batch = this.batch.getStore();
    if (batch && !batch.over) return new Promise<ResultRow[]>((resolve, reject) => this.gather(batch, { statement, resolve, reject })) as Promise<R[]>;
    return this.sql.query<R>(stmt.prepared, statement.params);
  }

  /** Into the batch's next message, sent once this turn's handlers have had their say. */
  private gather(batch: Open, g: Gathered): void {
    batch.gathered.push(g);
    if (batch.gathered.length > 1) return;
    setImmediate(() => {
      batch.sending = batch.sending.then(async () => {
        const gathered = batch.gathered.splice(0);
        if (gathered.length === 0) return; // an earlier message took them
        try {
          const opening = batch.begun ? [] : ['BEGIN'];
          batch.begun = true;
          const pending = batch.pending.splice(0);
          const results = asResults(await batch.client.query(await render(batch.client, [...opening, ...pending, ...gathered.map((x) => x.statement)])));
          results.slice(opening.length + pending.length).forEach((r, i) => gathered[i].resolve(r.rows));
        } catch (e) {
          for (const x of gathered) x.reject(e);
        }
      });
    });
  }

  /**
   * The inbox key of this message on the queue being consumed (message id,
   * queue): the cheap "handled already?" check before a slow external call,
   * inside the statement that reads what that call needs (inboxSeenSql over
   * two of its parameters).
   */
  seenKey(messageId: string): [messageId: string, queue: string] {
    return [messageId, currentDelivery()?.queue ?? ''];
  }

  /**
   * Runs `fn`, the handlers of several consumed messages one after another,
   * as one transaction: every step inside it runs on that transaction's
   * connection, each message keeps its own inbox row, and the outbox rows of
   * all of them are written in one statement with the one COMMIT. If
   * anything fails, the whole batch rolls back and the caller handles each
   * message on its own (the transport does).
   */
  async inBatch<T>(fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const unlisten = onLostConnection(client);
    const b: Open = { client, rows: [], delayed: [], pending: [], committed: [], withdrawn: [], over: false, begun: false, gathered: [], sending: Promise.resolve() };
    let failure: unknown;
    try {
      const result = await this.batch.run(b, fn);
      b.over = true;
      if (b.begun) await this.commit(b);
      return result;
    } catch (e) {
      failure = e;
      b.over = true;
      if (b.begun) await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      unlisten();
      client.release(isStalePlan(failure) ? (failure as Error) : undefined);
    }
  }

  /** One transaction on one pooled connection (or the batch's, inside inBatch). A failing statement rolls it all back. */
  private async run<T>(first: readonly Statement[], fn: (tx: Tx, begun: QueryResult<ResultRow>[]) => Promise<T>, correlationId?: string): Promise<T> {
    const open = await this.openBatch(first);
    if (open) {
      this.noteWithdrawals(open.batch, first);
      return fn(this.txOf(open.batch, correlationId), open.begun);
    }
    const client = await this.pool.connect();
    const unlisten = onLostConnection(client);
    const t: Open = { client, rows: [], delayed: [], pending: [], committed: [], withdrawn: [], over: false, begun: true, gathered: [], sending: Promise.resolve() };
    this.noteWithdrawals(t, first);
    let failure: unknown;
    try {
      const begun = asResults(await client.query(await render(client, ['BEGIN', ...first]))).slice(1);
      const result = await fn(this.txOf(t, correlationId), begun);
      await this.commit(t);
      return result;
    } catch (e) {
      failure = e;
      // after a failed statement the transaction stays open (aborted) until rolled back; on a lost connection this fails too
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      unlisten();
      client.release(isStalePlan(failure) ? (failure as Error) : undefined);
    }
  }

  /** Inside a batch: its transaction (opened by the batch's first statement) and the results of `first`. */
  private async openBatch(first: readonly Statement[] = []): Promise<{ batch: Open; begun: QueryResult<ResultRow>[] } | undefined> {
    const batch = this.batch.getStore();
    if (!batch || batch.over) return undefined;
    if (batch.begun) return { batch, begun: first.length ? await sendAfterPending(batch, first) : [] };
    const begun = asResults(await batch.client.query(await render(batch.client, ['BEGIN', ...first]))).slice(1);
    batch.begun = true;
    return { batch, begun };
  }

  private txOf(t: Open, correlationId?: string): Tx {
    return {
      query: <R extends QueryResultRow>(text: string | Prepared, params: readonly unknown[] = []) => {
        if (typeof text !== 'string') this.noteWithdrawals(t, [{ prepared: text, params }]);
        return exec<R>(t, text, params);
      },
      later: (text, params = []) => {
        if (typeof text !== 'string') this.noteWithdrawals(t, [{ prepared: text, params }]);
        t.pending.push(typeof text === 'string' ? inlineParamsOf(text, params) : { prepared: text, params });
      },
      afterCommit: (f) => t.committed.push(f),
      publish: (name, payload, opts) => {
        const row = this.outbox.row(name, payload, { correlationId: opts?.correlationId ?? correlationId, id: opts?.id });
        if (opts?.delayMs && opts.delayMs > 0) t.delayed.push({ row, delayMs: opts.delayMs });
        else t.rows.push(row);
      },
    };
  }

  /** Keeps the ids of delayed rows these statements take back, for the relay once the transaction committed. */
  private noteWithdrawals(t: Open, statements: readonly Statement[]): void {
    for (const st of statements) if (typeof st !== 'string') t.withdrawn.push(...this.outbox.withdrawnBy(st));
  }

  /** Writes the outbox rows with the COMMIT, then runs the commit hooks and publishes the rows. */
  private async commit(t: Open): Promise<void> {
    const delayed = t.delayed.length ? [this.outbox.delayedInsertSql(t.delayed)] : [];
    if (t.rows.length === 0) {
      await sendAfterPending(t, [...delayed, 'COMMIT']);
    } else {
      const insert = this.outbox.insertSql(t.rows);
      const [inserted] = await sendAfterPending(t, [insert.sql, ...delayed, 'COMMIT']);
      if (insert.direct) this.outbox.published(t.rows, inserted.rows.map((r) => String(r.seq)));
    }
    for (const d of t.delayed) this.outbox.relayWake(d.delayMs, [d.row.id]);
    if (t.withdrawn.length) this.outbox.withdrawn(t.withdrawn);
    for (const f of t.committed) f();
  }
}

/** One statement of the transaction; writes waiting (Tx.later) go first, in the same message. */
async function exec<R extends QueryResultRow>(t: Open, text: string | Prepared, params: readonly unknown[] = []): Promise<R[]> {
  if (t.pending.length === 0 && typeof text === 'string') return (await t.client.query<R>(text, params as unknown[])).rows;
  const [result] = await sendAfterPending(t, [typeof text === 'string' ? inlineParamsOf(text, params) : { prepared: text, params }]);
  return result.rows as R[];
}

/**
 * `statements` after the writes waiting for a round trip (one statement
 * each), as one simple-protocol message; the results of `statements`.
 */
async function sendAfterPending(t: Open, statements: readonly Statement[]): Promise<QueryResult<ResultRow>[]> {
  const pending = t.pending.splice(0);
  const results = asResults(await t.client.query(await render(t.client, [...pending, ...statements])));
  return results.slice(pending.length);
}

/** pg answers one result for one statement and an array for several. */
function asResults(r: QueryResult<ResultRow> | QueryResult<ResultRow>[]): QueryResult<ResultRow>[] {
  return Array.isArray(r) ? r : [r];
}
