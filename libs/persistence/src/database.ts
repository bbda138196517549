import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource, DataSourceOptions, MigrationInterface } from 'typeorm';
import { isDatabaseUnavailable } from './infra-errors';

export const IDENTIFIER_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertIdentifier(name: string, what: string): string {
  if (!IDENTIFIER_RE.test(name)) throw new Error(`${what} "${name}" must match ${IDENTIFIER_RE}`);
  return name;
}

/** Creates the database named in `url` when it does not exist yet (connecting to the `postgres` database to do it). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const dbName = decodeURIComponent(target.pathname.replace(/^\//, ''));
  assertIdentifier(dbName, 'database name');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${dbName}"`);
      } catch (e) {
        // Another service created it at the same moment.
        if ((e as { code?: string }).code !== '42P04' && (e as { code?: string }).code !== '23505') throw e;
      }
    }
  } finally {
    await client.end();
  }
}

export interface ServiceDataSourceOptions {
  url: string;
  /** The service's own schema; everything it owns lives there. */
  schema: string;
  migrations: Array<new () => MigrationInterface>;
  entities?: DataSourceOptions['entities'];
  poolSize?: number;
  applicationName?: string;
  /**
   * A statement running longer than this is cancelled by the server, and a
   * transaction left idle this long is ended (0: never). A database that is
   * slow but up so answers `503` and defers messages instead of holding
   * every connection and request until memory runs out.
   */
  statementTimeoutMs?: number;
}

/** TypeORM options for one service: its own schema on the search_path, migrations only, never synchronize. */
export function serviceDataSourceOptions(o: ServiceDataSourceOptions): DataSourceOptions {
  assertIdentifier(o.schema, 'schema');
  return {
    type: 'postgres',
    url: o.url,
    schema: o.schema,
    entities: o.entities ?? [],
    migrations: o.migrations,
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    logging: ['error'],
    applicationName: o.applicationName,
    extra: {
      max: o.poolSize ?? 10,
      options: sessionOptions(o),
      connectionTimeoutMillis: 5000,
    },
  };
}

/** The settings every connection of a service starts with (libpq `options`). */
function sessionOptions(o: ServiceDataSourceOptions): string {
  const timeout = o.statementTimeoutMs ?? 0;
  return [`-c search_path=${o.schema}`, ...(timeout > 0 ? [`-c statement_timeout=${timeout}`, `-c idle_in_transaction_session_timeout=${timeout * 3}`] : [])].join(' ');
}

/**
 * Creates the database and schema if needed and applies pending migrations,
 * serialized across replicas by an advisory lock. Used at start-up and by
 * each app's `db:migrate` target.
 */
export async function migrateService(o: ServiceDataSourceOptions, patienceMs = 120000): Promise<string[]> {
  // A database that is down, restarting or out of connections at start-up is waited for (bounded), not a crash.
  const deadline = Date.now() + patienceMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await migrateOnce(o);
    } catch (e) {
      if (!isDatabaseUnavailable(e) || Date.now() >= deadline) throw e;
      const delay = Math.min(5000, 200 * 2 ** attempt);
      new Logger('Migrations').warn(`database not available at start-up (${(e as Error).message}); trying again in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

async function migrateOnce(o: ServiceDataSourceOptions): Promise<string[]> {
  await ensureDatabase(o.url);
  const ds = new DataSource({ ...serviceDataSourceOptions(o), extra: { max: 2, options: `-c search_path=${o.schema}` } });
  await ds.initialize();
  const lock = ds.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`migrate:${o.schema}`]);
    await ds.query(`CREATE SCHEMA IF NOT EXISTS "${o.schema}"`);
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [`migrate:${o.schema}`]).catch(() => undefined);
    await lock.release();
    await ds.destroy();
  }
}

/**
 * A string as an SQL literal, for statements sent with the simple query
 * protocol (several statements in one round trip, no parameters there).
 */
export { escapeLiteral as sqlLiteral } from 'pg';
