import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, TcpProxy } from '@orders/testing';
import { migrateService } from './database';

test('start-up migration waits for a database that refuses connections, then runs; a non-infrastructure error still fails at once', async () => {
  const db = await createTestDatabase('migwait');
  const proxy = new TcpProxy('127.0.0.1', 5432);
  await proxy.start();
  try {
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    class Table1732320000900 {
      name = 'Table1732320000900';
      async up(q: { query(s: string): Promise<unknown> }) {
        await q.query('CREATE TABLE waited (id int)');
      }
      async down() {}
    }
    proxy.refuse(true);
    const migrated = migrateService({ url: url.toString(), schema: 'waits', migrations: [Table1732320000900] }, 20000);
    let settled = false;
    void migrated.finally(() => (settled = true)).catch(() => undefined);
    // it keeps trying while refused: let several of its attempts fail (its backoff starts at 200 ms)
    await new Promise((r) => setTimeout(r, 800)); // time is the subject: the outage must span several attempts
    assert.equal(settled, false, 'still waiting, not failed');
    proxy.refuse(false);
    assert.deepEqual(await migrated, ['Table1732320000900']);
    await assert.rejects(migrateService({ url: url.toString(), schema: 'Not A Schema!', migrations: [] }, 20000));
  } finally {
    await proxy.stop();
    await db.drop();
  }
});
