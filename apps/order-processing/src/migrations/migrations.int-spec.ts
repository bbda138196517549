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
const SCHEMA = 'processing';
let db: TestDatabase;
let ds: DataSource;

/** A DataSource that knows the first `n` migrations: its undo reverts the n-th, its run applies only that one. */
const dataSource = (n = migrations.length) =>
  new DataSource({ ...serviceDataSourceOptions({ url: db.url, schema: SCHEMA, migrations: migrations.slice(0, n) }), extra: { max: 1, options: `-c search_path=${SCHEMA}` } });

before(async () => {
  db = await createTestDatabase('proc_migrations');
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
  const big = 2_147_483_647; // the largest amount the previous money columns (integer) hold; beyond: see the next test
  await ds.query(`INSERT INTO orders (id, tenant_id, status, sequence, reason, customer, items, coupon_code, shipping_address, payment_token, currency,
      subtotal_cents, discount_cents, total_cents, reserved, authorization_id, captured_at, placed_at, authorize_requested_at, authorize_attempted_at)
    VALUES ($1, 'demo', 'CONFIRMED', 4, NULL, '{"id":"c","email":"ada@example.com"}', '[{"sku":"SKU-1","quantity":2}]', 'BIG', '{"country":"GB"}', 'tok_ok', 'EUR',
            $2, 0, $2, true, 'auth_1', now(), now(), now(), now()),
           ($3, 'demo', 'PENDING', 1, NULL, '{"id":"c","email":"ada@example.com"}', '[{"sku":"SKU-1","quantity":1}]', NULL, '{"country":"GB"}', 'tok_ok', 'EUR',
            2500, 250, 2250, false, NULL, NULL, now(), NULL, NULL)`, [order, big, randomUUID()]);
  await ds.query(`INSERT INTO order_history (order_id, sequence, status, reason, at) VALUES ($1, 1, 'PENDING', NULL, now()), ($1, 4, 'CONFIRMED', NULL, now())`, [order]);
  await ds.query(`INSERT INTO promotions (code, type, value, currency, min_subtotal_cents, max_redemptions, redemptions)
    VALUES ('BIG', 'fixed', $1, 'EUR', $1, 10, 1), ('SPRING10', 'percent', 10, NULL, NULL, NULL, 0)`, [big]);
  await ds.query(`INSERT INTO promotion_redemptions (code, order_id, discount_cents) VALUES ('BIG', $1, $2)`, [order, big]);
  await ds.query(`INSERT INTO early_cancels (order_id, tenant_id, requested_at) VALUES ($1, 'demo', now())`, [randomUUID()]);
  await ds.query(`INSERT INTO payment_jobs (order_id, tenant_id, action, authorization_id, state) VALUES ($1, 'demo', 'capture', 'auth_1', 'done'), ($1, 'demo', 'void', NULL, 'pending')`, [order]);
  await seedMessagingTables(ds);
}

test('every down, newest first, works on a database with rows in it (and its up again on what the down left); up again restores the schema', async () => {
  await assertEveryDownAndUpAgain({
    db: ds, names: migrations.map((m) => m.name), step: (n) => dataSource(n).initialize(), tables, seed,
    migrateAll: () => migrateService({ url: db.url, schema: SCHEMA, migrations }),
  });
});

test('an amount beyond what the previous release stores (integer) makes ProcessingEveryOrderEnds refuse to go down, naming it, changing nothing', async () => {
  const at = migrations.findIndex((m) => m.name === 'ProcessingEveryOrderEnds1732320000303') + 1;
  await migrateService({ url: db.url, schema: SCHEMA, migrations });
  const order = randomUUID();
  await ds.query(`INSERT INTO orders (id, tenant_id, status, sequence, customer, items, shipping_address, payment_token, currency, subtotal_cents, discount_cents, total_cents, placed_at)
    VALUES ($1, 'demo', 'CONFIRMED', 4, '{}', '[]', '{}', 'tok_ok', 'EUR', 1000000000000, 0, 1000000000000, now())`, [order]); // 10^12 minor units
  for (let n = migrations.length; n > at; n--) {
    const step = await dataSource(n).initialize();
    await step.undoLastMigration({ transaction: 'each' }).finally(() => step.destroy());
  }
  const step = await dataSource(at).initialize();
  try {
    await assert.rejects(step.undoLastMigration({ transaction: 'each' }), /cannot revert ProcessingEveryOrderEnds1732320000303: amounts beyond 2147483647 .* 1 row\(s\) of orders/);
  } finally {
    await step.destroy();
  }
  const [row] = (await ds.query(`SELECT total_cents, pg_typeof(total_cents)::text AS type FROM orders WHERE id = $1`, [order])) as Array<{ total_cents: string; type: string }>;
  assert.deepEqual(row, { total_cents: '1000000000000', type: 'bigint' }, 'the order and its column as they were');
  assert.ok((await tables()).includes('early_cancels'), 'nothing of the migration undone');

  await ds.query('UPDATE orders SET subtotal_cents = 2500, total_cents = 2500 WHERE id = $1', [order]); // settled or archived
  const again = await dataSource(at).initialize();
  await again.undoLastMigration({ transaction: 'each' }).finally(() => again.destroy());
  assert.ok(!(await tables()).includes('early_cancels'), 'then it goes down');
  await migrateService({ url: db.url, schema: SCHEMA, migrations });
});
