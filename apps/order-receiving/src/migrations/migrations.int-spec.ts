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
const SCHEMA = 'receiving';
let db: TestDatabase;
let ds: DataSource;

/** A DataSource that knows the first `n` migrations: its undo reverts the n-th, its run applies only that one. */
const dataSource = (n = migrations.length) =>
  new DataSource({ ...serviceDataSourceOptions({ url: db.url, schema: SCHEMA, migrations: migrations.slice(0, n) }), extra: { max: 1, options: `-c search_path=${SCHEMA}` } });

before(async () => {
  db = await createTestDatabase('recv_migrations');
  await migrateService({ url: db.url, schema: SCHEMA, migrations });
  ds = await dataSource().initialize();
});

after(async () => {
  await ds?.destroy();
  await db?.drop();
});

const tables = async () =>
  ((await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [SCHEMA])) as Array<{ table_name: string }>).map((r) => r.table_name);

async function seed(): Promise<void> {
  const order = randomUUID();
  const message = randomUUID();
  await ds.query(`INSERT INTO orders (id, tenant_id, status, sequence, customer, items, coupon_code, shipping_address, totals, rejection_reason, created_at, updated_at)
    VALUES ($1, 'demo', 'REJECTED', 3, '{"id":"c","email":"ada@example.com"}', '[{"sku":"SKU-1","quantity":2,"unitPriceCents":1250}]', 'SPRING10',
            '{"line1":"1 Way","city":"London","postalCode":"N1","country":"GB"}', '{"subtotalCents":1000000000000,"discountCents":0,"totalCents":1000000000000,"currency":"EUR"}',
            'payment_declined', now(), now())`, [order]);
  await ds.query(`INSERT INTO order_history (order_id, sequence, status, at, reason, totals) VALUES ($1, 1, 'PENDING', now(), NULL, NULL), ($1, 3, 'REJECTED', now(), 'payment_declined', NULL)`, [order]);
  await ds.query(`INSERT INTO idempotency_keys (tenant_id, key, request_hash, order_id, status_code, response, held_until)
    VALUES ('demo', 'k-1', 'h', $1, 202, '{}', now() + interval '30 seconds'), ('acme', 'k-1', 'h2', $2, 202, '{}', NULL)`, [order, randomUUID()]);
  await seedMessagingTables(ds, message);
}

test('every down, newest first, works on a database with rows in it (and its up again on what the down left); up again restores the schema', async () => {
  await assertEveryDownAndUpAgain({
    db: ds, names: migrations.map((m) => m.name), step: (n) => dataSource(n).initialize(), tables, seed,
    migrateAll: () => migrateService({ url: db.url, schema: SCHEMA, migrations }),
  });
});
