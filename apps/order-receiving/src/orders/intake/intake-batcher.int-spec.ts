import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { TOPOLOGY } from '@orders/contracts';
import { Outbox } from '@orders/messaging';
import { migrateService, sqlOf } from '@orders/persistence';
import { PLATFORM_CODEC } from '@orders/platform';
import { createTestDatabase, TestDatabase } from '@orders/testing';
import { migrations } from '../../migrations';
import { IntakeBatcher, IntakeRow } from './intake-batcher';

/** The group-commit statement on a real database: one row the database refuses fails alone, not its batch. */
const SCHEMA = 'receiving';

/** The outbox with the broker away: rows are written for the relay (the statement's NOTIFY form). */
const relayOutbox = () => new Outbox(sqlOf(pool), { isConnected: false } as ConstructorParameters<typeof Outbox>[1], PLATFORM_CODEC, TOPOLOGY, `outbox_${SCHEMA}`);
let db: TestDatabase;
let pool: Pool;

before(async () => {
  db = await createTestDatabase('recv_batcher');
  await migrateService({ url: db.url, schema: SCHEMA, migrations });
  pool = new Pool({ connectionString: db.url, options: `-c search_path=${SCHEMA}`, max: 2 });
  pool.on('error', () => undefined); // an idle client cut when the database is dropped at the end
});

after(async () => {
  await pool?.end();
  await db?.drop();
});

const row = (customer = '{"id":"c","email":"a@example.com"}'): IntakeRow => {
  const orderId = randomUUID();
  return {
    tenantId: 't', key: `k-${orderId}`, requestHash: 'h', orderId, response: '{}', holdSeconds: 0, customer, items: '[]', couponCode: null,
    shippingAddress: '{}', placedAt: new Date().toISOString(),
    message: { id: randomUUID(), name: 'order.placed.v1', routingKey: 'order.placed.v1.quiet', raw: '{}', traceContext: null },
  };
};

test('a row the database rejects fails alone; the orders batched with it are stored', async () => {
  const b = new IntakeBatcher(() => pool, relayOutbox(), { maxInFlight: 1 });
  // the first runs alone and holds the only slot: the rest queue up and share the next statement
  const rows = [row(), row(), row(), row('{"id":"c","name":"\\u0000"}'), row(), row()];
  const results = await Promise.allSettled(rows.map((r) => b.place(r)));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  const { rows: stored } = await pool.query<{ id: string }>('SELECT id::text FROM orders');
  assert.deepEqual(new Set(stored.map((s) => s.id)), new Set(rows.filter((_, i) => i !== 3).map((r) => r.orderId)));
  const { rows: outbox } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
  assert.equal(outbox[0].n, 5);
});
