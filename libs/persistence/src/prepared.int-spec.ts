import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'pg';
import { createTestDatabase, TcpProxy, TestDatabase } from '@orders/testing';
import { isStalePlan, prepared, render, usePreparedStatements } from './prepared';
import { sqlOf } from './sql';

let db: TestDatabase;
let pool: Pool;

before(async () => {
  db = await createTestDatabase('prepared');
  // one connection: every call below runs on the same session
  pool = new Pool({ connectionString: db.url, max: 1 });
  await pool.query(`CREATE TABLE notes (id int PRIMARY KEY, body text, tags text[], doc jsonb, at timestamptz)`);
});

after(async () => {
  usePreparedStatements(true);
  await pool.end();
  await db.drop();
});

const preparedOnSession = async (): Promise<string[]> =>
  (await pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map((r) => r.name);

const WRITE = prepared('test_note_write', 'INSERT INTO notes (id, body, tags, doc, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET body = excluded.body RETURNING id, body, tags, doc, at', ['int', 'text', 'text[]', 'jsonb', 'timestamptz']);
const READ = prepared('test_note_read', 'SELECT id, body FROM notes WHERE id = $1', ['int']);

test('a prepared statement is prepared once per connection and runs with any value as EXECUTE', async () => {
  const sql = sqlOf(pool);
  const at = new Date('2026-12-03T10:00:00.000Z');
  const [row] = await sql.query<{ id: number; body: string; tags: string[]; doc: unknown; at: Date }>(WRITE, [1, "it's \\ $1 -- not a comment", ["a'b", 'c'], { k: "v'" }, at]);
  assert.deepEqual(row, { id: 1, body: "it's \\ $1 -- not a comment", tags: ["a'b", 'c'], doc: { k: "v'" }, at });
  // a second and third run on the same connection: a second PREPARE of the same name would fail (42P05)
  await sql.query(WRITE, [2, null, [], null, at]);
  assert.deepEqual(await sql.query(READ, [2]), [{ id: 2, body: null }]);
  assert.deepEqual(await sql.query(READ, [1]), [{ id: 1, body: "it's \\ $1 -- not a comment" }]);
  assert.deepEqual(await preparedOnSession(), ['test_note_read', 'test_note_write']);
});

test('arrays of any declared type, NULL elements and quotes included, arrive as they were sent', async () => {
  const ECHO = prepared('test_echo_arrays', 'SELECT $1 AS ids, $2 AS texts, $3 AS ints, $4 AS empty', ['uuid[]', 'text[]', 'int[]', 'text[]']);
  const ids = ['6f1c2a4e-0000-4000-8000-000000000001', '6f1c2a4e-0000-4000-8000-000000000002'];
  const texts = [null, 'a"b', 'c\\d', "e'f", '{g,h}', 'NULL', ''];
  const [row] = await sqlOf(pool).query(ECHO, [ids, texts, [1, -2], []]);
  assert.deepEqual(row, { ids, texts, ints: [1, -2], empty: [] });
});

test('a statement prepared in a transaction that rolls back stays prepared (it is not prepared again)', async () => {
  const c = await pool.connect();
  try {
    const DELETE = prepared('test_note_delete', 'DELETE FROM notes WHERE id = $1', ['int']);
    await c.query('BEGIN');
    await c.query(await render(c, [{ prepared: DELETE, params: [1] }]));
    await c.query('ROLLBACK');
    assert.ok((await c.query(`SELECT 1 FROM pg_prepared_statements WHERE name = 'test_note_delete'`)).rowCount === 1, 'prepared still');
    assert.deepEqual((await c.query('SELECT id FROM notes WHERE id = 1')).rows, [{ id: 1 }], 'rolled back');
    // the connection kept it: running it again does not PREPARE (which would fail: it exists)
    await c.query(await render(c, [{ prepared: DELETE, params: [1] }]));
    assert.deepEqual((await c.query('SELECT id FROM notes WHERE id = 1')).rows, []);
  } finally {
    c.release();
  }
});

test('after a migration that changes what a prepared statement returns, its connection is dropped and the next one prepares it again', async () => {
  const sql = sqlOf(pool);
  const STAR = prepared('test_note_star', 'SELECT * FROM notes WHERE id = $1', ['int']);
  assert.equal((await sql.query(STAR, [2])).length, 1);
  // a statement naming its columns is re-planned by PostgreSQL and keeps working
  await pool.query('ALTER TABLE notes ADD COLUMN extra int');
  assert.deepEqual(await sql.query(READ, [2]), [{ id: 2, body: null }]);
  // one reading `*` cannot: the connection that holds it goes …
  const stale = await sql.query(STAR, [2]).then(() => undefined, (e: unknown) => e);
  assert.ok(isStalePlan(stale), `expected a stale plan, got ${String(stale)}`);
  // … and the next call, on a new connection, works with the new columns
  const [row] = await sql.query<{ extra: number | null }>(STAR, [2]);
  assert.equal(row.extra, null);
});

test('a session whose prepared statements were dropped behind its back (DISCARD ALL) is replaced after one failure', async () => {
  const sql = sqlOf(pool);
  assert.equal((await sql.query(READ, [2])).length, 1);
  await pool.query('DISCARD ALL');
  const gone = await sql.query(READ, [2]).then(() => undefined, (e: unknown) => e);
  assert.ok(isStalePlan(gone), `expected "does not exist", got ${String(gone)}`);
  assert.equal((await sql.query(READ, [2])).length, 1);
});

test('with prepared statements off, statements go as text and nothing is prepared', async () => {
  const c = await pool.connect();
  try {
    usePreparedStatements(false);
    const OFF = prepared('test_note_off', 'SELECT id, body FROM notes WHERE id = $1 AND body IS NULL', ['int']);
    const text = await render(c, ['SELECT 1', { prepared: OFF, params: [2] }]);
    assert.equal(text, 'SELECT 1; SELECT id, body FROM notes WHERE id = 2::int AND body IS NULL');
    assert.deepEqual((await c.query(text) as unknown as Array<{ rows: unknown[] }>).map((r) => r.rows), [[{ '?column?': 1 }], [{ id: 2, body: null }]]);
    assert.deepEqual((await c.query(`SELECT name FROM pg_prepared_statements WHERE name = 'test_note_off'`)).rows, []);
    // typed literals: what EXECUTE would have coerced, arrays with NULLs and a NULL of any type included
    const ECHO = prepared('test_echo_off', 'SELECT $1 = ANY($2) AS found, $3 AS nothing', ['uuid', 'uuid[]', 'int']);
    const id = '6f1c2a4e-0000-4000-8000-000000000003';
    assert.deepEqual((await c.query(await render(c, [{ prepared: ECHO, params: [id, [null, id], null] }]))).rows, [{ found: true, nothing: null }]);
  } finally {
    usePreparedStatements(true);
    c.release();
  }
});

test('a declaration must give one type per parameter, and a name means one text', () => {
  assert.throws(() => prepared('test_bad_types', 'SELECT $1, $2', ['int']), /1 types for \$1 … \$2/);
  assert.throws(() => prepared('test_note_read', 'SELECT 2', []), /declared twice/);
  assert.throws(() => prepared('Bad Name', 'SELECT 1', []), /must match/);
});

test('a connection lost while a prepared statement runs outside a transaction fails that call, and nothing else (no unhandled error)', async () => {
  const proxy = new TcpProxy('127.0.0.1', Number(new URL(db.url).port || 5432));
  await proxy.start();
  const url = new URL(db.url);
  url.host = `127.0.0.1:${proxy.port}`;
  const cut = new Pool({ connectionString: url.toString(), max: 1 });
  try {
    const SLEEP = prepared('test_sleep', 'SELECT pg_sleep($1) AS slept', ['float8']);
    const sql = sqlOf(cut);
    const running = sql.query(SLEEP, [5]).then(() => 'answered', (e: Error) => e.message);
    // the statement is running (prepared, then sent) when the connection goes
    for (let i = 0; i < 100 && (await pool.query(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'EXECUTE test_sleep%' AND state = 'active'`)).rowCount === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    proxy.dropAll();
    assert.notEqual(await running, 'answered');
    // the pool serves the next call on a new connection
    assert.deepEqual(await sql.query(READ, [2]), [{ id: 2, body: null }]);
  } finally {
    await cut.end().catch(() => undefined);
    await proxy.stop();
  }
});
