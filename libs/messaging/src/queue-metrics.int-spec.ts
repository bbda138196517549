import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Controller, INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Payload } from '@nestjs/microservices';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Envelope } from '@orders/contracts';
import { migrateService, serviceDataSourceOptions } from '@orders/persistence';
import { createTestDatabase, deleteBrokerTopology, eventually, TcpProxy, TestBus, TestDatabase, uniqueName } from '@orders/testing';
import { register } from 'prom-client';
import { AmqpConnection } from './amqp-connection';
import { AmqpTransport } from './amqp-transport';
import { MessagingModule } from './messaging.module';
import { OnMessage } from './on-message';
import { MESSAGING_MIGRATIONS } from './outbox';
import type { QueueType } from './topology';
import { UnitOfWork } from './unit-of-work';

/**
 * What an operator reads on /metrics about deferred work, checked against the
 * real broker and database: queue depth, consumers, dead letters, queue lag
 * and the outbox backlog.
 */
/** The messaging suite runs on both kinds of queue (tools/test-all.sh sets TEST_QUEUE_TYPE=quorum for the second run). */
const TEST_QUEUE_TYPE: QueueType = process.env.TEST_QUEUE_TYPE === 'quorum' ? 'quorum' : 'classic';
const SCHEMA = 'qmetrics';
const RETRIES = [100];
const QUEUE = 'inventory.commands';
let db: TestDatabase;
let prefix: string;
let proxy: TcpProxy;
let app: INestApplication;
let bus: TestBus;
let transport: AmqpTransport;
/** While set, the handler waits on it: a backlog builds up behind one message in flight. */
let gate: Promise<void> | undefined;
let openGate: () => void = () => undefined;
let handled = 0;

@Controller()
class SlowConsumer {
  @OnMessage('inventory.commands', 'inventory.reserve.v1')
  async reserve(@Payload() _env: Envelope<'inventory.reserve.v1'>): Promise<void> {
    await gate;
    handled++;
  }
}

/** One scrape: the value of a sample, or undefined when it is absent. */
async function scrape(metric: string, labels = ''): Promise<number | undefined> {
  const text = await register.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${metric}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
const q = `{queue="${QUEUE}"}`;

const publishReserves = async (n: number) => {
  const uow = app.get(UnitOfWork);
  await uow.transaction(async (tx) => {
    for (let i = 0; i < n; i++) tx.publish('inventory.reserve.v1', { orderId: randomUUID(), tenantId: 't1', items: [{ sku: 'SKU-1', quantity: 1 }] });
  });
};

before(async () => {
  db = await createTestDatabase('qmetrics');
  prefix = uniqueName('t').toLowerCase();
  proxy = new TcpProxy('127.0.0.1', 5672);
  await proxy.start();
  await migrateService({ url: db.url, schema: SCHEMA, migrations: MESSAGING_MIGRATIONS });
  @Module({
    imports: [
      TypeOrmModule.forRoot(serviceDataSourceOptions({ url: db.url, schema: SCHEMA, migrations: MESSAGING_MIGRATIONS })),
      MessagingModule.forRoot({
        rabbitmqUrl: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        prefix,
        serviceName: 'qmetrics-test',
        databaseUrl: db.url,
        schema: SCHEMA,
        ownQueues: [QUEUE],
        retryDelaysMs: RETRIES,
        metricsCacheMs: 100,
        queueType: TEST_QUEUE_TYPE,
      }),
    ],
    controllers: [SlowConsumer],
  })
  class TestModule {}
  app = await NestFactory.create(TestModule, new FastifyAdapter(), { logger: ['error'] });
  transport = new AmqpTransport(app.get(AmqpConnection), { prefetch: {}, defaultPrefetch: 1, retryDelaysMs: RETRIES });
  app.connectMicroservice({ strategy: transport });
  await app.startAllMicroservices();
  await app.init();
  bus = await TestBus.connect(prefix);
});

after(async () => {
  openGate();
  await bus?.cleanup();
  await app?.close();
  await proxy?.stop();
  await db?.drop();
  await deleteBrokerTopology(prefix, RETRIES);
});

test('a backlog shows in orders_queue_messages as the broker counts it, drains to 0, and its lag is measured', async () => {
  assert.equal(await scrape('orders_queue_consumers', q), 1, 'the consumer is attached');
  gate = new Promise((r) => (openGate = r));
  const waitBefore = (await scrape('orders_message_wait_seconds_count', q)) ?? 0;
  await publishReserves(30);
  // One message is in flight (prefetch 1), the other 29 wait in the queue.
  await eventually(async () => (await bus.queueDepth(`${prefix}.${QUEUE}`)) === 29, 10000, 50, 'backlog in the broker');
  await eventually(async () => (await scrape('orders_queue_messages', q)) === 29, 5000, 50, 'backlog on /metrics');
  openGate();
  gate = undefined;
  await eventually(() => handled === 30, 10000, 20, 'backlog handled');
  await eventually(async () => (await scrape('orders_queue_messages', q)) === 0, 5000, 50, 'drained on /metrics');
  assert.equal(await bus.queueDepth(`${prefix}.${QUEUE}`), 0);
  assert.equal((await scrape('orders_message_wait_seconds_count', q))! - waitBefore, 30, 'every first delivery measured once');
  assert.ok((await scrape('orders_message_wait_seconds_sum', q))! > 0, 'the backlog waited');
});

test('a poisoned message shows in orders_dead_letter_messages', async () => {
  assert.equal(await scrape('orders_dead_letter_messages', q), 0);
  await bus.publishRaw('inventory.reserve.v1', Buffer.from('{"not":"an envelope"'));
  await eventually(async () => (await scrape('orders_dead_letter_messages', q)) === 1, 5000, 50, 'dead letter on /metrics');
  assert.equal(await bus.queueDepth(`${prefix}.${QUEUE}.dlq`), 1);
});

test('with the broker cut, the outbox backlog and its age grow on /metrics; after reconnect both return to 0 and the queue gauges come back', async () => {
  const amqp = app.get(AmqpConnection);
  assert.equal(await scrape('orders_outbox_pending'), 0);
  proxy.refuse(true);
  proxy.dropAll();
  await eventually(() => !amqp.isConnected, 5000, 20, 'disconnect noticed');
  await publishReserves(5);
  await publishReserves(7);
  await eventually(async () => (await scrape('orders_outbox_pending')) === 12, 5000, 50, 'outbox pending on /metrics');
  const age1 = (await scrape('orders_outbox_oldest_seconds'))!;
  await eventually(async () => (await scrape('orders_outbox_oldest_seconds'))! >= age1 + 0.5, 5000, 100, 'the oldest row ages');
  // The broker is away: its gauges are absent, and /metrics still answers.
  assert.equal(await scrape('orders_queue_messages', q), undefined);
  proxy.refuse(false);
  await eventually(() => amqp.isConnected, 15000, 50, 'reconnect');
  await eventually(async () => (await scrape('orders_outbox_pending')) === 0, 10000, 50, 'outbox drained');
  assert.equal(await scrape('orders_outbox_oldest_seconds'), 0);
  await eventually(async () => (await scrape('orders_queue_consumers', q)) === 1, 10000, 50, 'queue gauges back after reconnect');
  await eventually(async () => (await scrape('orders_queue_messages', q)) === 0, 10000, 50, 'what the outbox held is consumed');
});

test('a consumer that stopped shows orders_queue_consumers 0 while messages pile up', async () => {
  await transport.close(); // cancels the consumer; the service is otherwise up
  await eventually(async () => (await scrape('orders_queue_consumers', q)) === 0, 5000, 50, 'no consumer on /metrics');
  await publishReserves(3);
  await eventually(async () => (await scrape('orders_queue_messages', q)) === 3, 5000, 50, 'messages waiting without a consumer');
});
