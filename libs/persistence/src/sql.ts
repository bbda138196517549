import { escapeLiteral } from 'pg';
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

/** A value as an SQL literal (simple query protocol): NULL, a number, a boolean, a quoted string, or JSON as a quoted string. */
export function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return String(v);
  }
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v instanceof Date) return escapeLiteral(v.toISOString()).trim();
  if (typeof v === 'string') return escapeLiteral(v).trim();
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) {
    return v.length === 0 ? `'{}'` : `ARRAY[${v.map(literal).join(', ')}]`;
  }
  return escapeLiteral(JSON.stringify(v)).trim();
}

/**
 * A parameterized statement with its parameters written in as literals, so
 * it can travel with others in one simple-protocol message. `$n` inside
 * quoted strings and quoted identifiers is left alone.
 */
export function inlineParams(text: string, params: readonly unknown[] = []): string {
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      out += c;
      if (c === quote) quote = text[i + 1] === quote ? (out += text[++i], quote) : undefined;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      out += c;
      continue;
    }
    const m = c === '$' ? /^\$(\d+)/.exec(text.slice(i)) : null;
    if (!m) {
      out += c;
      continue;
    }
    const n = Number(m[1]);
    if (n < 1 || n > params.length) throw new Error(`no parameter $${n}`);
    out += literal(params[n - 1]);
    i += m[0].length - 1;
  }
  return out;
}
