import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { migrateService, serviceDataSourceOptions } from '@orders/persistence';
import { assertEveryDownAndUpAgain, createTestDatabase, seedMessagingTables, TestDatabase } from '@orders/testing';
import { migrations } from './index';

/**
 * Rolling back a release on a database that has been used: every `down`,
 * newest first, on representative rows (the messaging tables' too), and
 * `up` again afterwards.
 */
const SCHEMA = 'notification';
let db: TestDatabase;
let ds: DataSource;

/** A DataSource that knows the first `n` migrations: its undo reverts the n-th, its run applies only that one. */
const dataSource = (n = migrations.length) =>
  new DataSource({ ...serviceDataSourceOptions({ url: db.url, schema: SCHEMA, migrations: migrations.slice(0, n) }), extra: { max: 1, options: `-c search_path=${SCHEMA}` } });

before(async () => {
  db = await createTestDatabase('ntf_migrations');
  await migrateService({ url: db.url, schema: SCHEMA, migrations });
  ds = await dataSource().initialize();
});

after(async () => {
  await ds?.destroy();
  await db?.drop();
});

const tables = async () =>
  ((await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [SCHEMA])) as Array<{ table_name: string }>).map((r) => r.table_name);

/** An email sent and one failing, an endpoint with a rotated secret, a delivery with its attempts. */
async function seed(): Promise<void> {
  const order = randomUUID();
  await ds.query(`INSERT INTO emails (order_id, status, tenant_id, recipient, subject, text_body, html_body, message_id, attempts, last_error, sent_at)
    VALUES ($1, 'CONFIRMED', 'demo', 'ada@example.com', 'Your order', 'text', '<p>html</p>', '<m1@orders>', 1, NULL, now()),
           ($1, 'CANCELLED', 'demo', 'ada@example.com', 'Cancelled', 'text', '<p>html</p>', '<m2@orders>', 3, 'smtp down', NULL)`, [order]);
  const endpoint = randomUUID();
  const delivery = randomUUID();
  await ds.query(`INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret, previous_secret, previous_secret_until, consecutive_failures)
    VALUES ($1, 'demo', 'https://shop.example/hooks', '{order.confirmed}', 'whsec_new', 'whsec_old', now() + interval '1 day', 2)`, [endpoint]);
  await ds.query(`INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, order_id, order_status, payload, state, attempt_count, next_attempt_at, last_error)
    VALUES ($1, $2, 'demo', $3, $4, 'CONFIRMED', '{}', 'pending', 2, now(), '500')`, [delivery, endpoint, randomUUID(), order]);
  await ds.query(`INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, latency_ms, error, response_excerpt, outcome, next_retry_at)
    VALUES ($1, 1, now(), 500, 12, NULL, 'oops', 'retrying', now()), ($1, 2, now(), NULL, 5000, 'timeout', NULL, 'retrying', now())`, [delivery]);
  await seedMessagingTables(ds);
}

test('every down, newest first, works on a database with rows in it (and its up again on what the down left); up again restores the schema', async () => {
  await assertEveryDownAndUpAgain({
    db: ds, names: migrations.map((m) => m.name), step: (n) => dataSource(n).initialize(), tables, seed,
    migrateAll: () => migrateService({ url: db.url, schema: SCHEMA, migrations }),
  });
});
