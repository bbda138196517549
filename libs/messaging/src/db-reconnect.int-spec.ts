import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { migrateService, serviceDataSourceOptions } from '@orders/persistence';
import { createTestDatabase, deleteBrokerTopology, eventually, TcpProxy, TestBus, TestDatabase, uniqueName } from '@orders/testing';
import { QueueType } from './topology';

/** The messaging suite runs on both kinds of queue (tools/test-all.sh sets TEST_QUEUE_TYPE=quorum for the second run). */
const TEST_QUEUE_TYPE: QueueType = process.env.TEST_QUEUE_TYPE === 'quorum' ? 'quorum' : 'classic';
import { MessagingModule } from './messaging.module';
import { MESSAGING_MIGRATIONS } from './outbox';
import { UnitOfWork } from './unit-of-work';

/** PostgreSQL goes away (every connection cut, new ones refused) and comes back: writes and the relay resume on their own. */
const SCHEMA = 'plumbing';
let db: TestDatabase;
let prefix: string;
let pgProxy: TcpProxy;
let app: INestApplication;
let bus: TestBus;

before(async () => {
  db = await createTestDatabase('pgdrop');
  prefix = uniqueName('t').toLowerCase();
  pgProxy = new TcpProxy('127.0.0.1', 5432);
  await pgProxy.start();
  const url = new URL(db.url);
  url.host = `127.0.0.1:${pgProxy.port}`;
  const migrations = [...MESSAGING_MIGRATIONS];
  await migrateService({ url: url.toString(), schema: SCHEMA, migrations });
  @Module({
    imports: [
      TypeOrmModule.forRoot(serviceDataSourceOptions({ url: url.toString(), schema: SCHEMA, migrations })),
      MessagingModule.forRoot({
        queueType: TEST_QUEUE_TYPE,
        rabbitmqUrl: 'amqp://guest:guest@127.0.0.1:5672',
        prefix,
        serviceName: 'pg-drop-test',
        databaseUrl: url.toString(),
        schema: SCHEMA,
        ownQueues: [],
        retryDelaysMs: [100],
      }),
    ],
  })
  class TestModule {}
  app = await NestFactory.create(TestModule, new FastifyAdapter(), { logger: ['error'] });
  await app.init();
  bus = await TestBus.connect(prefix, ['inventory.release.v1']);
});

after(async () => {
  await bus?.cleanup();
  await app?.close();
  await pgProxy?.stop();
  await db?.drop();
  await deleteBrokerTopology(prefix, [100]);
});

const publishRelease = (orderId: string) =>
  app.get(UnitOfWork).transaction(async (tx) => tx.publish('inventory.release.v1', { orderId, tenantId: 't1', reason: 'test' }));

test('writes and the outbox relay resume after the database drops every connection and restarts', async () => {
  const first = randomUUID();
  await publishRelease(first);
  await bus.waitFor('inventory.release.v1', (p) => p.orderId === first);

  pgProxy.refuse(true);
  pgProxy.dropAll();
  await assert.rejects(publishRelease(randomUUID()), 'a write while the database is down fails (and is not reported as done)');
  pgProxy.refuse(false);

  const second = randomUUID();
  await eventually(async () => {
    await publishRelease(second);
    return true;
  }, 15000, 200, 'a write after the database is back');
  // published promptly: the LISTEN connection came back, not just the 10 s safety sweep
  await bus.waitFor('inventory.release.v1', (p) => p.orderId === second, 5000);
});
