import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

import { TEST_PG_ADMIN_URL } from './names';
export * from './names';
export * from './bus';
export * from './statements';

/** A short random name part, so every test run gets its own database and queues. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database for one test file; `drop()` removes it (forcing out leftover connections). */
export async function createTestDatabase(label = 't'): Promise<TestDatabase> {
  const name = uniqueName(`orders_${label}`).toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const admin = new Client({ connectionString: TEST_PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(TEST_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new Client({ connectionString: TEST_PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Waits until `probe` returns a truthy value, checking after each `intervalMs`; fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T> | T, timeoutMs = 10000, intervalMs = 50, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export * from './tcp-proxy';
export * from './sse';
export * from './migrations';
export * from './safe-text';
export * from './metrics';
