import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@orders/platform';
import { createTestDatabase, deleteBrokerTopology, eventually, TestDatabase, uniqueName } from '@orders/testing';
import { bootstrap } from './bootstrap';
import { InventoryEnv } from './config';

let db: TestDatabase;
let app: NestFastifyApplication;
let base: string;
let cfg: InventoryEnv;

before(async () => {
  db = await createTestDatabase('inv');
  cfg = loadConfig(InventoryEnv, { DATABASE_URL: db.url, MQ_PREFIX: uniqueName('t').toLowerCase(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  app = await bootstrap(cfg);
  base = await app.getUrl();
});

after(async () => {
  await app?.close();
  await db?.drop();
  await deleteBrokerTopology(cfg.MQ_PREFIX, cfg.retryDelaysMs);
});

test('ready once its database and the broker answer', async () => {
  const res = await fetch(`${base}/health/ready`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { details: Record<string, { status: string }> };
  assert.equal(body.details.database.status, 'up');
  assert.equal(body.details.broker.status, 'up');
});

test('/metrics shows its queue with its consumer, no dead letters and an empty outbox', async () => {
  const text = await eventually(async () => {
    const t = await (await fetch(`${base}/metrics`)).text();
    return /^orders_queue_consumers\{queue="inventory.commands"\} 1$/m.test(t) ? t : undefined;
  }, 5000, 100, 'queue gauges');
  assert.match(text, /^orders_queue_messages\{queue="inventory.commands"\} 0$/m);
  assert.match(text, /^orders_dead_letter_messages\{queue="inventory.commands"\} 0$/m);
  assert.match(text, /^orders_outbox_pending 0$/m);
  assert.match(text, /^orders_outbox_oldest_seconds 0$/m);
});
