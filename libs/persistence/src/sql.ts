import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type { DataSource } from 'typeorm';

/** A row as the driver returns it. */
export type ResultRow = Record<string, unknown>;

/**
 * What SQL helpers take: a connection (in a transaction or not) that runs one
 * statement with parameters and returns its rows. A transaction's `Tx`
 * (UnitOfWork) and `sqlOf(pool)` both are one.
 */
export interface Sql {
  query<R extends QueryResultRow = ResultRow>(text: string, params?: unknown[]): Promise<R[]>;
}

/**
 * The DataSource's own pg pool (same connections, same search_path), for
 * statements TypeORM's query() cannot send: named prepared statements,
 * several statements in one round trip, raw transactions.
 */
export function poolOf(ds: DataSource): Pool {
  return (ds.driver as unknown as { master: Pool }).master;
}

/** A pool or a checked-out connection as Sql (rows of the statement). */
export function sqlOf(db: Pool | PoolClient): Sql {
  return { query: async <R extends QueryResultRow>(text: string, params?: unknown[]) => (await db.query<R>(text, params)).rows };
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
