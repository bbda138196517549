import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { migrateService, serviceDataSourceOptions } from '@orders/persistence';
import { createTestDatabase, TestDatabase } from '@orders/testing';
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
  await seedMessaging(ds, message);
}

/** Rows in every messaging table, as a running service leaves them: one message handled on two queues, a paused queue, a crash count. */
async function seedMessaging(q: DataSource, message: string): Promise<void> {
  await q.query(`INSERT INTO outbox (id, routing_key, body, priority, trace_context, relay_after) VALUES ($1, 'order.placed.v1.quiet', '{}', 5, '00-abc-def-01', now()), ($2, 'x', '{}', NULL, NULL, NULL)`, [randomUUID(), randomUUID()]);
  await q.query(`INSERT INTO inbox (message_id, queue) VALUES ($1, 'a.email'), ($1, 'a.webhooks'), ($2, '')`, [message, randomUUID()]);
  await q.query(`INSERT INTO paused_queues (queue) VALUES ('a.email')`);
  await q.query(`INSERT INTO delivery_crashes (message_id, queue, crashes) VALUES ($1, 'a.email', 2)`, [message]);
}

test('every down, newest first, works on a database with rows in it (and its up again on what the down left); up again restores the schema', async () => {
  const full = await tables();
  await seed();
  for (let n = migrations.length; n > 0; n--) {
    const step = await dataSource(n).initialize();
    try {
      await step.undoLastMigration({ transaction: 'each' });
      assert.equal((await step.runMigrations({ transaction: 'each' })).length, 1, `${migrations[n - 1].name} applies again on what its down left`);
      await step.undoLastMigration({ transaction: 'each' });
    } finally {
      await step.destroy();
    }
  }
  assert.deepEqual(await tables(), ['migrations'], 'everything the migrations made is gone');
  assert.deepEqual(await ds.query('SELECT * FROM migrations'), []);
  const applied = await migrateService({ url: db.url, schema: SCHEMA, migrations });
  assert.equal(applied.length, migrations.length);
  assert.deepEqual(await tables(), full);
  await seed(); // and the schema takes the same rows again
});
