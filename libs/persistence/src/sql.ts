import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type { DataSource } from 'typeorm';
import { isDatabaseUnavailable } from './infra-errors';
import { isStalePlan, prepared, render, type Prepared, type Statement } from './prepared';

/** A row as the driver returns it. */
export type ResultRow = Record<string, unknown>;

/**
 * What SQL helpers take: a connection (in a transaction or not) that runs one
 * statement with parameters and returns its rows. A transaction's `Tx`
 * (UnitOfWork) and `sqlOf(pool)` both are one.
 */
export interface Sql {
  query<R extends QueryResultRow = ResultRow>(text: string | Prepared, params?: readonly unknown[]): Promise<R[]>;
}

/**
 * The DataSource's own pg pool (same connections, same search_path), for
 * statements TypeORM's query() cannot send: named prepared statements,
 * several statements in one round trip, raw transactions.
 */
export function poolOf(ds: DataSource): Pool {
  return (ds.driver as unknown as { master: Pool }).master;
}

const isPool = (db: Pool | PoolClient): db is Pool => 'totalCount' in db;
const ignoreLost = (): void => undefined;

/** A pool or a checked-out connection as Sql (rows of the statement; a prepared one on the connection it runs on). */
export function sqlOf(db: Pool | PoolClient): Sql {
  return {
    query: async <R extends QueryResultRow>(text: string | Prepared, params: readonly unknown[] = []) => {
      if (typeof text === 'string') return (await db.query<R>(text, params as unknown[])).rows;
      if (!isPool(db)) return (await db.query<R>(await render(db, [{ prepared: text, params }]))).rows;
      const client = await db.connect();
      // checked out, the pool no longer listens for the connection's errors: one lost meanwhile must not be an unhandled 'error' (the query fails all the same)
      client.on('error', ignoreLost);
      let failure: unknown;
      try {
        return (await client.query<R>(await render(client, [{ prepared: text, params }]))).rows;
      } catch (e) {
        failure = e;
        throw e;
      } finally {
        client.removeListener('error', ignoreLost);
        client.release(isStalePlan(failure) || isDatabaseUnavailable(failure) ? (failure as Error) : undefined);
      }
    },
  };
}

/**
 * Deletes the rows of `table` matching `where` (parameters `params`) in
 * bounded batches, each its own statement (by ctid, skipping rows another
 * transaction holds): safe with several instances pruning at once, and never
 * one long transaction over a large table. Returns how many went.
 */
export async function deleteInBatches(db: Sql, table: string, where: string, params: unknown[], batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${where} LIMIT ${batch} FOR UPDATE SKIP LOCKED) RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      params,
    );
    total += rows[0].n;
    if (rows[0].n < batch) return total;
  }
}

const ADVISORY_XACT_LOCK = prepared('advisory_xact_lock', 'SELECT pg_advisory_xact_lock(hashtext($1))', ['text']);

/** The statement that takes a transaction's advisory lock on `key` (held until it ends): serializes work on one key across connections. */
export const advisoryXactLock = (key: string): Statement => ({ prepared: ADVISORY_XACT_LOCK, params: [key] });

export { inlineParams, literal } from './literals';
