import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

/** What the migrations checks need of a database connection (a TypeORM DataSource has it). */
interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** A connection that knows the first n migrations (a TypeORM DataSource, initialized). */
interface MigrationStep {
  undoLastMigration(o: { transaction: 'each' }): Promise<void>;
  runMigrations(o: { transaction: 'each' }): Promise<unknown[]>;
  destroy(): Promise<void>;
}

/** Rows in every messaging table, as a running service leaves them: one message handled on two queues, a paused queue, a crash count. */
export async function seedMessagingTables(q: Queryable, message = randomUUID()): Promise<void> {
  await q.query(`INSERT INTO outbox (id, routing_key, body, priority, trace_context, relay_after) VALUES ($1, 'order.placed.v1.quiet', '{}', 5, '00-abc-def-01', now()), ($2, 'x', '{}', NULL, NULL, NULL)`, [randomUUID(), randomUUID()]);
  await q.query(`INSERT INTO inbox (message_id, queue) VALUES ($1, 'a.email'), ($1, 'a.webhooks'), ($2, '')`, [message, randomUUID()]);
  await q.query(`INSERT INTO paused_queues (queue) VALUES ('a.email')`);
  await q.query(`INSERT INTO delivery_crashes (message_id, queue, crashes) VALUES ($1, 'a.email', 2)`, [message]);
}

/**
 * Rolling back a release on a used database: after `seed`, every down,
 * newest first, works (and its up again on what the down left); then
 * nothing the migrations made is left, and migrating again restores the
 * schema, which takes the same rows again.
 */
export async function assertEveryDownAndUpAgain(o: {
  db: Queryable;
  names: readonly string[];
  /** A connection knowing the first n migrations. */
  step(n: number): Promise<MigrationStep>;
  tables(): Promise<string[]>;
  migrateAll(): Promise<unknown[]>;
  seed(): Promise<void>;
}): Promise<void> {
  const full = await o.tables();
  await o.seed();
  for (let n = o.names.length; n > 0; n--) {
    const step = await o.step(n);
    try {
      await step.undoLastMigration({ transaction: 'each' });
      assert.equal((await step.runMigrations({ transaction: 'each' })).length, 1, `${o.names[n - 1]} applies again on what its down left`);
      await step.undoLastMigration({ transaction: 'each' });
    } finally {
      await step.destroy();
    }
  }
  assert.deepEqual(await o.tables(), ['migrations'], 'everything the migrations made is gone');
  assert.deepEqual(await o.db.query('SELECT * FROM migrations'), []);
  assert.equal((await o.migrateAll()).length, o.names.length);
  assert.deepEqual(await o.tables(), full);
  await o.seed(); // and the schema takes the same rows again
}
