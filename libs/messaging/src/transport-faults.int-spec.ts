import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Controller, INestApplication, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Ctx, Payload } from '@nestjs/microservices';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Envelope } from '@orders/contracts';
import { migrateService, serviceDataSourceOptions } from '@orders/persistence';
import { createTestDatabase, deleteBrokerTopology, eventually, TcpProxy, TestBus, TestDatabase, uniqueName } from '@orders/testing';
import { QueueType } from './topology';

/** The messaging suite runs on both kinds of queue (tools/test-all.sh sets TEST_QUEUE_TYPE=quorum for the second run). */
const TEST_QUEUE_TYPE: QueueType = process.env.TEST_QUEUE_TYPE === 'quorum' ? 'quorum' : 'classic';
import * as amqp from 'amqplib';
import { DataSource } from 'typeorm';
import { AmqpConnection } from './amqp-connection';
import { AmqpMessageContext, AmqpTransport, POISON_RETURNS } from './amqp-transport';
import { MessagingModule } from './messaging.module';
import { handledCount } from './metrics';
import { MESSAGING_MIGRATIONS } from './outbox';
import { OnMessage } from './on-message';
import { UnitOfWork } from './unit-of-work';

/**
 * The transport off the designed path, against the real broker and a
 * database reached through a TCP proxy that can refuse connections:
 * two queues carrying one message, a consumer the broker cancels, a database
 * outage longer than every retry tier, priorities across retries, and the
 * announcement of a dead letter.
 */
const SCHEMA = 'faults';
const RETRIES = [100, 200];
const DEFERS = [50, 150];
let db: TestDatabase;
let dbProxy: TcpProxy;
let prefix: string;
let app: INestApplication;
let bus: TestBus;
let conn: amqp.ChannelModel;
let transport: AmqpTransport;

const handled = { email: [] as string[], webhooks: [] as string[] };
/** Orders whose email handler must keep failing (its own error). */
const emailFails = new Set<string>();
const placedSeen = new Map<string, Array<number | undefined>>();
const placedFailures = new Map<string, number>();
/** Orders whose placement a dependency fails this many times (PostgreSQL's 'too many clients'). */
const placedBlips = new Map<string, number>();
/** Placements handled successfully, in order, with the deferrals each had been through. */
const placedDone: Array<{ orderId: string; deferrals: number }> = [];

@Injectable()
class Effects {
  constructor(private readonly uow: UnitOfWork) {}
  async record(kind: 'email' | 'webhooks', env: Envelope<'order.status-changed.v1'>): Promise<void> {
    if (kind === 'email' && emailFails.has(env.payload.orderId)) throw new Error(`email refused for ${env.payload.orderId}`);
    await this.uow.handleOnce(env, async (tx) => {
      await tx.manager.query('INSERT INTO effects (kind, order_id) VALUES ($1, $2)', [kind, env.payload.orderId]);
    });
    handled[kind].push(env.payload.orderId);
  }
}

@Controller()
class EmailConsumer {
  constructor(private readonly fx: Effects) {}
  @OnMessage('notification.email', 'order.status-changed.v1')
  email(@Payload() env: Envelope<'order.status-changed.v1'>) {
    return this.fx.record('email', env);
  }
}

@Controller()
class WebhooksConsumer {
  constructor(private readonly fx: Effects) {}
  @OnMessage('notification.webhooks', 'order.status-changed.v1')
  webhooks(@Payload() env: Envelope<'order.status-changed.v1'>) {
    return this.fx.record('webhooks', env);
  }
}

@Controller()
class PlacedConsumer {
  @OnMessage('order-processing.placed', 'order.placed.v1')
  placed(@Payload() env: Envelope<'order.placed.v1'>, @Ctx() ctx: AmqpMessageContext) {
    const id = env.payload.orderId;
    placedSeen.set(id, [...(placedSeen.get(id) ?? []), ctx.raw.properties.priority as number | undefined]);
    const left = placedFailures.get(id) ?? 0;
    if (left > 0) {
      placedFailures.set(id, left - 1);
      throw new Error('planned failure');
    }
    const blips = placedBlips.get(id) ?? 0;
    if (blips > 0) {
      placedBlips.set(id, blips - 1);
      throw Object.assign(new Error('sorry, too many clients already'), { code: '53300' });
    }
    placedDone.push({ orderId: id, deferrals: ctx.deferrals });
  }
}

const status = (orderId: string): Envelope<'order.status-changed.v1'>['payload'] => ({
  orderId, tenantId: 't1', status: 'CONFIRMED', sequence: 3, at: new Date().toISOString(),
  customer: { id: 'c1', email: 'a@example.com' }, items: [{ sku: 'SKU-1', quantity: 1 }],
});

const effects = async (kind: string, orderId: string) =>
  Number((await app.get(DataSource).query('SELECT count(*)::int AS n FROM effects WHERE kind = $1 AND order_id = $2', [kind, orderId]))[0].n);

const consumers = async (queue: string) => {
  const ch = await conn.createChannel();
  try {
    return (await ch.checkQueue(`${prefix}.${queue}`)).consumerCount;
  } finally {
    await ch.close().catch(() => undefined);
  }
};

/** Publishes an order.placed.v1 for `orderId` (with an AMQP priority, if given), confirmed. */
async function publishPlaced(orderId: string, priority?: number): Promise<void> {
  const env = {
    id: randomUUID(), name: 'order.placed.v1', occurredAt: new Date().toISOString(),
    payload: {
      orderId, tenantId: 't1', customer: { id: 'c1', email: 'a@example.com' }, items: [{ sku: 'SKU-1', quantity: 1 }],
      shippingAddress: { line1: 'x', city: 'y', postalCode: '1', country: 'DE' }, payment: { token: 'tok_ok' }, placedAt: new Date().toISOString(),
    },
  };
  const ch = await conn.createConfirmChannel();
  ch.publish(`${prefix}.events`, 'order.placed.v1', Buffer.from(JSON.stringify(env)), { persistent: true, messageId: env.id, ...(priority === undefined ? {} : { priority }) });
  await ch.waitForConfirms();
  await ch.close();
}

before(async () => {
  db = await createTestDatabase('faults');
  const u = new URL(db.url);
  dbProxy = new TcpProxy(u.hostname, Number(u.port || 5432));
  await dbProxy.start();
  u.host = `127.0.0.1:${dbProxy.port}`;
  const proxiedUrl = u.toString();
  prefix = uniqueName('f').toLowerCase();
  class EffectsTable1732320000600 {
    name = 'EffectsTable1732320000600';
    async up(q: { query(s: string): Promise<unknown> }) {
      await q.query('CREATE TABLE effects (id bigserial PRIMARY KEY, kind text NOT NULL, order_id uuid NOT NULL)');
    }
    async down() {}
  }
  const migrations = [...MESSAGING_MIGRATIONS, EffectsTable1732320000600];
  await migrateService({ url: db.url, schema: SCHEMA, migrations });
  @Module({
    imports: [
      TypeOrmModule.forRoot(serviceDataSourceOptions({ url: proxiedUrl, schema: SCHEMA, migrations })),
      MessagingModule.forRoot({
        queueType: TEST_QUEUE_TYPE,
        rabbitmqUrl: 'amqp://guest:guest@127.0.0.1:5672',
        prefix,
        serviceName: 'faults-test',
        databaseUrl: db.url,
        schema: SCHEMA,
        ownQueues: ['notification.email', 'notification.webhooks', 'order-processing.placed'],
        retryDelaysMs: RETRIES,
        deferDelaysMs: DEFERS,
      }),
    ],
    controllers: [EmailConsumer, WebhooksConsumer, PlacedConsumer],
    providers: [Effects],
  })
  class TestModule {}
  app = await NestFactory.create(TestModule, new FastifyAdapter(), { logger: ['error'] });
  transport = new AmqpTransport(app.get(AmqpConnection), { prefetch: { 'order-processing.placed': 1 }, defaultPrefetch: 8, retryDelaysMs: RETRIES });
  app.connectMicroservice({ strategy: transport });
  await app.startAllMicroservices();
  await app.init();
  bus = await TestBus.connect(prefix, ['message.dead-lettered.v1']);
  conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
});

after(async () => {
  await conn?.close().catch(() => undefined);
  await bus?.cleanup();
  await app?.close();
  await dbProxy?.stop();
  await db?.drop();
  await deleteBrokerTopology(prefix, [...RETRIES, ...DEFERS]);
});

test('two queues bound to one message each have their own consumer, and fail, retry and ack independently', async () => {
  assert.equal(await consumers('notification.email'), 1);
  assert.equal(await consumers('notification.webhooks'), 1);
  const ok = randomUUID();
  const refused = randomUUID();
  emailFails.add(refused);
  await bus.publish('order.status-changed.v1', status(ok));
  await bus.publish('order.status-changed.v1', status(refused));
  await eventually(async () => (await effects('webhooks', refused)) === 1 && (await effects('email', ok)) === 1 && (await effects('webhooks', ok)) === 1, 5000, 20, 'both handlers ran');
  // the failing email is dead-lettered on its own queue; the webhook of the same event was delivered once
  await eventually(async () => (await bus.queueDepth(`${prefix}.notification.email.dlq`)) === 1, 5000, 50, 'email dead-lettered');
  assert.equal(await effects('email', refused), 0);
  assert.equal(await effects('webhooks', refused), 1);
  assert.equal(await bus.queueDepth(`${prefix}.notification.webhooks`), 0, 'the webhooks queue is consumed');
  assert.equal(await bus.queueDepth(`${prefix}.notification.webhooks.dlq`), 0);
});

test('a dead-lettered message is announced (message.dead-lettered.v1) with its order and reason', async () => {
  const refused = randomUUID();
  emailFails.add(refused);
  const env = await bus.publish('order.status-changed.v1', status(refused));
  const note = await bus.waitFor('message.dead-lettered.v1', (p) => p.orderId === refused, 5000);
  assert.equal(note.payload.messageId, env.id);
  assert.equal(note.payload.queue, 'notification.email');
  assert.match(note.payload.reason, /email refused/);
});

test('a consumer the broker cancels (its queue deleted) is reopened; meanwhile the service is not ready', async () => {
  const amqpConn = app.get(AmqpConnection);
  assert.deepEqual(amqpConn.unconsumedQueues(), []);
  const ch = await conn.createChannel();
  await ch.deleteQueue(`${prefix}.notification.webhooks`);
  await ch.close();
  await eventually(() => amqpConn.unconsumedQueues().includes('notification.webhooks'), 5000, 10, 'not ready without a consumer');
  await eventually(async () => amqpConn.unconsumedQueues().length === 0 && (await consumers('notification.webhooks').catch(() => 0)) === 1, 15000, 50, 'consumer back');
  const orderId = randomUUID();
  await bus.publish('order.status-changed.v1', status(orderId));
  await eventually(async () => (await effects('webhooks', orderId)) === 1, 5000, 20, 'delivered after the reopen');
});

test('a database outage longer than every retry tier defers messages instead of dead-lettering them', async () => {
  const ids = Array.from({ length: 5 }, () => randomUUID());
  const dlqBefore = await bus.queueDepth(`${prefix}.notification.webhooks.dlq`);
  dbProxy.refuse(true);
  dbProxy.dropAll();
  const deferred = await handledCount('notification.webhooks', 'order.status-changed.v1', 'defer');
  for (const id of ids) await bus.publish('order.status-changed.v1', status(id));
  // as many failed deliveries as RETRIES allows attempts: a transport that counted the outage as failed attempts
  // would have dead-lettered them by now
  const attempts = RETRIES.length + 1;
  await eventually(async () => (await handledCount('notification.webhooks', 'order.status-changed.v1', 'defer')) >= deferred + ids.length * attempts, 20000, 50, `${attempts} deferrals each`);
  assert.equal(await bus.queueDepth(`${prefix}.notification.webhooks.dlq`), dlqBefore, 'nothing dead-lettered during the outage');
  dbProxy.refuse(false);
  for (const id of ids) await eventually(async () => (await effects('webhooks', id)) === 1, 15000, 50, `handled ${id} after the outage`);
  assert.equal(await bus.queueDepth(`${prefix}.notification.webhooks.dlq`), dlqBefore);
});

test('a message a database blip fails is handled again in place and keeps its turn: what was queued behind it does not overtake it', async () => {
  const first = randomUUID();
  const second = randomUUID();
  placedBlips.set(first, 2);
  await publishPlaced(first);
  await publishPlaced(second);
  await eventually(() => placedDone.some((d) => d.orderId === second), 5000, 20, 'both handled');
  const order = placedDone.filter((d) => d.orderId === first || d.orderId === second);
  assert.deepEqual(order, [{ orderId: first, deferrals: 0 }, { orderId: second, deferrals: 0 }]);
});

test('a retried message keeps its AMQP priority', { skip: TEST_QUEUE_TYPE === 'quorum' ? 'quorum queues have no message priorities on RabbitMQ 3.x' : false }, async () => {
  const orderId = randomUUID();
  placedFailures.set(orderId, 1);
  await publishPlaced(orderId, 7);
  await eventually(() => (placedSeen.get(orderId)?.length ?? 0) === 2, 5000, 20, 'tried twice');
  assert.deepEqual(placedSeen.get(orderId), [7, 7]);
});

test(
  'a message whose handling keeps ending its consumer is dead-lettered by the transport, announced, before the broker would drop it silently',
  { skip: TEST_QUEUE_TYPE === 'quorum' ? false : 'only quorum queues count how often a message went back unacknowledged (x-delivery-count)' },
  async () => {
    const queue = `${prefix}.notification.webhooks`;
    const orderId = randomUUID();
    await transport.setPaused(new Set(['notification.webhooks']));
    await bus.publish('order.status-changed.v1', status(orderId));
    // a consumer that takes it and dies without an answer, POISON_RETURNS times (as a crash or kill -9 would)
    const ch = await conn.createChannel();
    for (let i = 0; i < POISON_RETURNS; i++) {
      let m: amqp.GetMessage | false = false;
      await eventually(async () => (m = await ch.get(queue, { noAck: false })) !== false, 5000, 10, `delivery ${i + 1}`);
      ch.nack(m as unknown as amqp.Message, false, true);
    }
    await ch.close();
    const dlqBefore = await bus.queueDepth(`${queue}.dlq`);
    await transport.setPaused(new Set());
    const note = await bus.waitFor('message.dead-lettered.v1', (p) => p.orderId === orderId && p.queue === 'notification.webhooks', 10000);
    assert.match(note.payload.reason, new RegExp(`returned to the queue ${POISON_RETURNS} times`));
    await eventually(async () => (await bus.queueDepth(`${queue}.dlq`)) === dlqBefore + 1, 5000, 20, 'parked in the dead-letter queue');
    assert.equal(await effects('webhooks', orderId), 0, 'its handler never ran again');
  },
);
