import { createTestDatabase, TestDatabase } from '@orders/testing';
import { Client, QueryResultRow } from 'pg';
import { CpuRecorder } from './cpu';

/**
 * PostgreSQL's own counters per database (each service has its own database
 * in the bench): `pg_stat_database` (transactions committed, rolled back,
 * rows written) and, only when the server preloads it, `pg_stat_statements`
 * (statements executed). Read through a throw-away database of the bench's
 * own, so reading never adds to what is measured.
 *
 * `pg_stat_database` is not live: PostgreSQL 15 backends keep their counts
 * and flush them when a transaction ends at least 1 s after their last flush
 * (PGSTAT_MIN_INTERVAL), or 10 s after they went idle with counts pending
 * (PGSTAT_IDLE_INTERVAL, a timeout); `pg_stat_force_next_flush()` forces it
 * for the calling backend only. `settle()` therefore waits until every
 * backend of the measured databases has provably flushed what it did before
 * the call (see there), instead of sleeping.
 */
export interface DbReading {
  xactCommit: number;
  xactRollback: number;
  tupInserted: number;
  tupUpdated: number;
  tupDeleted: number;
  /** Sum of pg_stat_statements.calls (null when the extension is not loaded). */
  statements: number | null;
}

export interface DbCost {
  commitsPerOrder: number;
  rollbacksPerOrder: number;
  rowsInsertedPerOrder: number;
  rowsUpdatedPerOrder: number;
  rowsDeletedPerOrder: number;
  statementsPerOrder: number | null;
}

export class PgStats {
  private constructor(
    private readonly c: Client,
    private readonly statsDb: TestDatabase,
    /** label (a service) → database name */
    readonly dbs: Record<string, string>,
    /** Why statements are not counted, or null when they are. */
    readonly statementsUnavailable: string | null,
  ) {}

  static async open(dbs: Record<string, string>): Promise<PgStats> {
    const statsDb = await createTestDatabase('bench_stats');
    const c = new Client({ connectionString: statsDb.url, application_name: 'bench-stats' });
    await c.connect();
    try {
      const { rows } = await c.query<{ shared_preload_libraries: string }>('SHOW shared_preload_libraries');
      const loaded = rows[0].shared_preload_libraries.split(',').map((s) => s.trim().replace(/^"|"$/g, '')).includes('pg_stat_statements');
      let why: string | null = null;
      if (loaded) {
        // the view shows every database's statements (filtered by dbid below), so the bench's own database is enough
        await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      } else {
        why = `pg_stat_statements is not loaded (shared_preload_libraries = '${rows[0].shared_preload_libraries}'); ` +
          "to count statements: ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements' (or add it to postgresql.conf) and restart PostgreSQL";
      }
      return new PgStats(c, statsDb, dbs, why);
    } catch (e) {
      await c.end().catch(() => undefined);
      await statsDb.drop();
      throw e;
    }
  }

  /** Counts one more database (e.g. the reference checkout's, created later). */
  track(label: string, db: string): void {
    this.dbs[label] = db;
  }

  async close(): Promise<void> {
    await this.c.end().catch(() => undefined);
    await this.statsDb.drop();
  }

  private names(labels?: string[]): string[] {
    return (labels ?? Object.keys(this.dbs)).map((l) => this.dbs[l]);
  }

  private async q<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.c.query<R>(sql, params)).rows;
  }

  /**
   * Waits until PostgreSQL has flushed the counts of everything the given databases' backends did
   * before this call: a backend has once it is idle and either its last transaction ended at least
   * 1 s after this call (that transaction's end flushed anything older) or it has been idle 10.5 s
   * (the idle flush timeout fired), or it started after this call. `exclude`: backends that forced
   * their own flush (pg_stat_force_next_flush). Returns the milliseconds waited.
   */
  async settle(labels?: string[], exclude: number[] = [], timeoutMs = 30_000): Promise<number> {
    const started = Date.now();
    const [{ t }] = await this.q<{ t: Date }>('SELECT clock_timestamp() AS t');
    for (;;) {
      const [{ unsettled }] = await this.q<{ unsettled: string }>(
        `SELECT count(*) AS unsettled FROM pg_stat_activity
          WHERE datname = ANY($1) AND backend_type = 'client backend' AND pid <> ALL($3::int[])
            AND backend_start < $2
            AND NOT (state = 'idle' AND (state_change >= $2::timestamptz + interval '1.05 s' OR clock_timestamp() - state_change >= interval '10.5 s'))`,
        [this.names(labels), t, exclude],
      );
      if (Number(unsettled) === 0) return Date.now() - started;
      if (Date.now() - started > timeoutMs) {
        console.warn(`pg stats: ${unsettled} backend(s) still not provably flushed after ${timeoutMs} ms; reading anyway`);
        return Date.now() - started;
      }
      await new Promise((r) => setTimeout(r, 200)); // between polls of the condition above
    }
  }

  async read(labels?: string[]): Promise<Record<string, DbReading>> {
    const names = this.names(labels);
    const rows = await this.q<{ datname: string; c: string; r: string; i: string; u: string; d: string }>(
      `SELECT datname, xact_commit AS c, xact_rollback AS r, tup_inserted AS i, tup_updated AS u, tup_deleted AS d
         FROM pg_stat_database WHERE datname = ANY($1)`,
      [names],
    );
    const calls = new Map<string, number>();
    if (!this.statementsUnavailable) {
      const s = await this.q<{ datname: string; calls: string }>(
        `SELECT d.datname, sum(s.calls)::bigint AS calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = ANY($1) GROUP BY d.datname`,
        [names],
      );
      for (const r of s) calls.set(r.datname, Number(r.calls));
    }
    const out: Record<string, DbReading> = {};
    for (const [label, db] of Object.entries(this.dbs)) {
      const r = rows.find((x) => x.datname === db);
      if (!r) continue;
      out[label] = {
        xactCommit: Number(r.c), xactRollback: Number(r.r), tupInserted: Number(r.i), tupUpdated: Number(r.u), tupDeleted: Number(r.d),
        statements: this.statementsUnavailable ? null : calls.get(db) ?? 0,
      };
    }
    return out;
  }

  /** Backends (pid → label) of the given databases now. */
  async backends(labels?: string[]): Promise<Map<number, string>> {
    const rows = await this.q<{ pid: number; datname: string }>('SELECT pid, datname FROM pg_stat_activity WHERE datname = ANY($1)', [this.names(labels)]);
    const byName = new Map(Object.entries(this.dbs).map(([l, d]) => [d, l]));
    return new Map(rows.map((r) => [r.pid, byName.get(r.datname) ?? r.datname]));
  }

  /** Starts recording the CPU time of the given databases' backends, per database (cpu.ts: backends that come and go count). */
  cpu(labels?: string[]): Promise<CpuRecorder> {
    return CpuRecorder.start(async () => {
      const groups = new Map<string, number[]>((labels ?? Object.keys(this.dbs)).map((l) => [l, []]));
      for (const [pid, l] of await this.backends(labels)) groups.get(l)?.push(pid);
      return [...groups];
    });
  }
}

/** The difference between two readings, per order; `own`: transactions and statements the bench itself ran in a database meanwhile. */
export function dbCost(before: Record<string, DbReading>, after: Record<string, DbReading>, orders: number, own: Record<string, number> = {}): Record<string, DbCost> {
  const per = (x: number) => Math.round((x / orders) * 100) / 100;
  const out: Record<string, DbCost> = {};
  for (const [label, a] of Object.entries(after)) {
    const b = before[label];
    if (!b) continue;
    const mine = own[label] ?? 0;
    out[label] = {
      commitsPerOrder: per(a.xactCommit - b.xactCommit - mine),
      rollbacksPerOrder: per(a.xactRollback - b.xactRollback),
      rowsInsertedPerOrder: per(a.tupInserted - b.tupInserted),
      rowsUpdatedPerOrder: per(a.tupUpdated - b.tupUpdated),
      rowsDeletedPerOrder: per(a.tupDeleted - b.tupDeleted),
      statementsPerOrder: a.statements === null || b.statements === null ? null : per(a.statements - b.statements - mine),
    };
  }
  return out;
}
