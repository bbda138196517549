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
const SCHEMA = 'inventory';
let db: TestDatabase;
let ds: DataSource;

/** A DataSource that knows the first `n` migrations: its undo reverts the n-th, its run applies only that one. */
const dataSource = (n = migrations.length) =>
  new DataSource({ ...serviceDataSourceOptions({ url: db.url, schema: SCHEMA, migrations: migrations.slice(0, n) }), extra: { max: 1, options: `-c search_path=${SCHEMA}` } });

before(async () => {
  db = await createTestDatabase('inv_migrations');
  await migrateService({ url: db.url, schema: SCHEMA, migrations });
  ds = await dataSource().initialize();
});

after(async () => {
  await ds?.destroy();
  await db?.drop();
});

const tables = async () =>
  ((await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [SCHEMA])) as Array<{ table_name: string }>).map((r) => r.table_name);

/** A product, and a reservation in every status the schema knows, as orders leave them. */
async function seed(): Promise<void> {
  await ds.query(`INSERT INTO products (sku, name, price_cents, currency, stock, reserved) VALUES ('SKU-1', 'Widget', 1250, 'EUR', 100, 3), ('sku-b', 'Bolt', 5, 'EUR', 0, 0)`);
  const lines = '[{"sku":"SKU-1","quantity":1,"name":"Widget","unitPriceCents":1250,"currency":"EUR"}]';
  for (const status of ['reserved', 'committed', 'released', 'expired', 'returned', 'unfilled']) {
    await ds.query(`INSERT INTO reservations (order_id, tenant_id, status, currency, lines, expires_at) VALUES ($1, 'demo', $2, 'EUR', $3::jsonb, now() + interval '10 minutes')`, [randomUUID(), status, lines]);
  }
  await ds.query(`INSERT INTO reservations (order_id, tenant_id, status, reject_reason, reject_skus) VALUES ($1, 'demo', 'rejected', 'out_of_stock', '{SKU-1}')`, [randomUUID()]);
  await seedMessagingTables(ds);
}

test('every down, newest first, works on a database with rows in it (and its up again on what the down left); up again restores the schema', async () => {
  await assertEveryDownAndUpAgain({
    db: ds, names: migrations.map((m) => m.name), step: (n) => dataSource(n).initialize(), tables, seed,
    migrateAll: () => migrateService({ url: db.url, schema: SCHEMA, migrations }),
  });
});
