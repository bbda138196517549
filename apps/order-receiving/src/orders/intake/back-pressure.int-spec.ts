import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { eventually } from '@orders/testing';
import { newKey, orderBody, placeOrder, startTestApp, TestApp } from '../../../test/test-app';

/**
 * The database slow but up: `idempotency_keys` locked by another session, so
 * every intake statement waits. At concurrency 200, intake must neither hang
 * nor queue without bound: what the bounded queue cannot take, or cannot
 * write in time, is answered 503 + Retry-After at once or after
 * INTAKE_MAX_WAIT_MS (the statements already running, at the statement
 * timeout), nothing half-written; /health/ready is red meanwhile; once the
 * lock goes, the storefront's retries with the same keys create each order
 * exactly once.
 */
const MAX_QUEUED = 50;
const MAX_WAIT_MS = 1500;
const STATEMENT_TIMEOUT_MS = 5000;
const CONCURRENCY = 200;

let t: TestApp;

before(async () => {
  t = await startTestApp('recv_backpressure', {
    INTAKE_MAX_QUEUED: String(MAX_QUEUED), INTAKE_MAX_WAIT_MS: String(MAX_WAIT_MS), DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  });
});

after(async () => {
  await t?.stop();
});

async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: t.db.url, options: '-c search_path=receiving' });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** intake_refused_total by reason, as an operator reads it on /metrics. */
async function refusals(): Promise<Record<string, number>> {
  const text = await (await fetch(`${t.base}/metrics`)).text();
  const out: Record<string, number> = { queue_full: 0, waited_too_long: 0 };
  for (const m of text.matchAll(/^intake_refused_total\{reason="(\w+)"\} (\d+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

const ready = async () => {
  const res = await fetch(`${t.base}/health/ready`);
  return { status: res.status, body: (await res.json()) as { details?: Record<string, { status: string }> } };
};

test(`idempotency_keys locked, ${CONCURRENCY} concurrent orders: all answered in bounded time, the excess 503 + Retry-After, ready red then green, retries create each order once`, async () => {
  assert.equal((await placeOrder(t.base)).status, 202, 'intake works before the lock');
  assert.equal((await ready()).status, 200);

  const keys = Array.from({ length: CONCURRENCY }, () => newKey());
  const body = (i: number) => orderBody({ email: `bp-${i}@example.com` });
  const before = await refusals();
  const locker = new Client({ connectionString: t.db.url });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE receiving.idempotency_keys IN ACCESS EXCLUSIVE MODE');
  let answers: Array<{ status: number; retryAfter: string | null; statusCode: unknown; ms: number }>;
  try {
    const started = Date.now();
    const requests = keys.map(async (key, i) => {
      const r = await placeOrder(t.base, body(i), {}, key);
      return { status: r.status, retryAfter: r.headers.get('retry-after'), statusCode: r.body?.statusCode, ms: Date.now() - started };
    });
    const red = await eventually(async () => {
      const r = await ready();
      return r.status === 503 ? r : undefined;
    }, 5000, 50, '/health/ready to turn 503 while intake cannot write');
    assert.equal(red.body.details?.intake?.status, 'down', `the readiness names intake: ${JSON.stringify(red.body)}`);
    assert.equal(red.body.details?.database?.status, 'up', 'SELECT 1 still answers: it is intake that cannot write');
    answers = await Promise.all(requests);
  } finally {
    await locker.query('COMMIT');
    await locker.end();
  }

  // Nothing could be written while the lock was held: every answer is a 503 the storefront may retry.
  for (const a of answers) {
    assert.equal(a.status, 503, JSON.stringify(a));
    assert.equal(a.statusCode, 503);
    const retryAfter = Number(a.retryAfter);
    assert.ok(retryAfter >= 1 && retryAfter <= 30, `Retry-After: ${a.retryAfter}`);
  }
  const ms = answers.map((a) => a.ms).sort((x, y) => x - y);
  assert.ok(ms[ms.length - 1] < STATEMENT_TIMEOUT_MS + 3000, `none hangs: the slowest answered after ${ms[ms.length - 1]} ms`);
  // The queue took INTAKE_MAX_QUEUED, the rest beyond the running statements was refused on arrival; the queued ones
  // were refused after INTAKE_MAX_WAIT_MS; only the statements already running waited for the statement timeout.
  const after = await refusals();
  const full = after.queue_full - before.queue_full;
  const waited = after.waited_too_long - before.waited_too_long;
  assert.ok(full >= CONCURRENCY - MAX_QUEUED - 10, `refused on arrival (queue full): ${full}`);
  assert.ok(waited >= 1 && waited <= MAX_QUEUED, `refused after waiting INTAKE_MAX_WAIT_MS: ${waited}`);
  const atTimeout = ms.filter((m) => m >= STATEMENT_TIMEOUT_MS - 500).length;
  assert.equal(atTimeout, CONCURRENCY - full - waited, `the others ended with their statement (${ms.join(',')})`);
  assert.ok(atTimeout <= 10, `only the statements already running wait for the statement timeout: ${atTimeout}`);

  await eventually(async () => (await ready()).status === 200, 15000, 100, '/health/ready green again after the lock');
  const [written] = await sql<{ keys: number; orders: number }>(
    `SELECT (SELECT count(*) FROM idempotency_keys WHERE key = ANY($1))::int AS keys,
            (SELECT count(*) FROM orders WHERE customer->>'email' LIKE 'bp-%')::int AS orders`, [keys],
  );
  assert.deepEqual(written, { keys: 0, orders: 0 }, 'nothing half-written');

  // The storefront retries with the same keys (and bodies) until accepted; a 503 (the queue still full) is retried too.
  const untilAccepted = async () => {
    const ids = new Map<string, string>();
    await eventually(async () => {
      await Promise.all(keys.map(async (key, i) => {
        if (ids.has(key)) return;
        const r = await placeOrder(t.base, body(i), {}, key);
        if (r.status === 202) ids.set(key, r.body.id);
        else assert.equal(r.status, 503, JSON.stringify(r.body));
      }));
      return ids.size === CONCURRENCY;
    }, 20000, 200, 'every retry accepted');
    return keys.map((k) => ids.get(k));
  };
  const accepted = await untilAccepted();
  assert.equal(new Set(accepted).size, CONCURRENCY);
  assert.deepEqual(await untilAccepted(), accepted, 'a retry after acceptance replays the same order');
  const [stored] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE customer->>'email' LIKE 'bp-%'`);
  assert.equal(stored.n, CONCURRENCY, 'each order once');
  await t.settled();
  assert.equal(t.bus.messages('order.placed.v1', (p) => p.customer.email.startsWith('bp-')).length, CONCURRENCY, 'one order.placed each');
});
