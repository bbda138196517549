import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Controller, INestApplication, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Payload } from '@nestjs/microservices';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Envelope } from '@orders/contracts';
import { migrateService, serviceDataSourceOptions } from '@orders/persistence';
import { createTestDatabase, deleteBrokerTopology, eventually, TEST_RABBITMQ_URL, TestBus, TestDatabase, uniqueName } from '@orders/testing';
import { DataSource } from 'typeorm';
import { AmqpConnection } from './amqp-connection';
import { AmqpTransport } from './amqp-transport';
import { MessagingModule } from './messaging.module';
import { handledCount } from './metrics';
import { OnMessage } from './on-message';
import { MESSAGING_MIGRATIONS } from './outbox';
import { QueueType } from './topology';
import { UnitOfWork } from './unit-of-work';

/**
 * Consumption in batches (AmqpTransportOptions.batches), against the real
 * broker and database: the deliveries that gather while a batch runs are
 * handled in one transaction, and one message's failure stays its own.
 * Each effect row records the transaction it was written in.
 */
const TEST_QUEUE_TYPE: QueueType = process.env.TEST_QUEUE_TYPE === 'quorum' ? 'quorum' : 'classic';
const SCHEMA = 'batches';
const RETRIES = [100, 200];
const DEFERS = [50, 150];
let db: TestDatabase;
let prefix: string;
let app: INestApplication;
let bus: TestBus;

/** A reserve for one of these order ids waits in its handler until the promise settles. */
const gates = new Map<string, Promise<void>>();
const atGate = new Set<string>();
/** Orders whose handler throws (an error of the message's own making) every time. */
const poisoned = new Set<string>();
/** Orders whose handler runs a statement the database rejects (aborting the transaction it runs in). */
const badSql = new Set<string>();

@Injectable()
class EffectService {
  constructor(private readonly uow: UnitOfWork) {}
  async reserve(env: Envelope<'inventory.reserve.v1'>): Promise<void> {
    const id = env.payload.orderId;
    if (gates.has(id)) {
      atGate.add(id);
      await gates.get(id);
    }
    await this.uow.handleOnce(env, async (tx) => {
      await tx.manager.query('INSERT INTO effects (order_id, txid) VALUES ($1, txid_current())', [id]);
      if (badSql.has(id)) await tx.manager.query('SELECT 1 / 0');
      if (poisoned.has(id)) throw new Error(`planned failure for ${id}`);
      tx.publish('inventory.committed.v1', { orderId: id, tenantId: env.payload.tenantId });
    });
  }
}

@Controller()
class EffectConsumer {
  constructor(private readonly svc: EffectService) {}
  @OnMessage('inventory.commands', 'inventory.reserve.v1', { batchable: true })
  reserve(@Payload() env: Envelope<'inventory.reserve.v1'>) {
    return this.svc.reserve(env);
  }
}

const effects = async (ids: string[]) =>
  (await app.get(DataSource).query('SELECT order_id, txid::text FROM effects WHERE order_id = ANY($1::uuid[])', [ids])) as Array<{ order_id: string; txid: string }>;

before(async () => {
  db = await createTestDatabase('batches');
  prefix = uniqueName('b').toLowerCase();
  class EffectsTable1732320000501 {
    name = 'EffectsTable1732320000501';
    async up(q: { query(s: string): Promise<unknown> }) {
      await q.query('CREATE TABLE effects (id bigserial PRIMARY KEY, order_id uuid NOT NULL, txid bigint NOT NULL)');
    }
    async down() {}
  }
  const migrations = [...MESSAGING_MIGRATIONS, EffectsTable1732320000501];
  await migrateService({ url: db.url, schema: SCHEMA, migrations });
  @Module({
    imports: [
      TypeOrmModule.forRoot(serviceDataSourceOptions({ url: db.url, schema: SCHEMA, migrations })),
      MessagingModule.forRoot({
        queueType: TEST_QUEUE_TYPE, rabbitmqUrl: TEST_RABBITMQ_URL, prefix, serviceName: 'batches-test', databaseUrl: db.url, schema: SCHEMA,
        ownQueues: ['inventory.commands'], retryDelaysMs: RETRIES, deferDelaysMs: DEFERS,
      }),
    ],
    controllers: [EffectConsumer],
    providers: [EffectService],
  })
  class TestModule {}
  app = await NestFactory.create(TestModule, new FastifyAdapter(), { logger: ['error'] });
  const transport = new AmqpTransport(app.get(AmqpConnection), {
    prefetch: {}, defaultPrefetch: 16, retryDelaysMs: RETRIES, batches: { unitOfWork: app.get(UnitOfWork), maxBatch: 8 },
  });
  app.connectMicroservice({ strategy: transport });
  await app.startAllMicroservices();
  await app.init();
  bus = await TestBus.connect(prefix, ['inventory.committed.v1']);
});

after(async () => {
  await bus?.cleanup();
  await app?.close();
  await db?.drop();
  await deleteBrokerTopology(prefix, [...RETRIES, ...DEFERS]);
});

const reserve = (orderId: string, id?: string) => bus.publish('inventory.reserve.v1', { orderId, tenantId: 't1', items: [{ sku: 'SKU-1', quantity: 1 }] }, { id });

/** Holds a first message in its handler, queues `ids` behind it, then lets it go: they gather into batches meanwhile. */
async function behindAHeldMessage(ids: string[], publish: (id: string) => Promise<unknown> = reserve): Promise<string> {
  const held = randomUUID();
  let open!: () => void;
  gates.set(held, new Promise<void>((r) => (open = r)));
  await reserve(held);
  await eventually(() => atGate.has(held), 10000, 20, 'the first message is being handled');
  for (const id of ids) await publish(id);
  await bus.sync();
  open();
  return held;
}

test('messages that gather while a batch runs are handled together: one transaction for several, each effect once, every reply published', async () => {
  const ids = Array.from({ length: 15 }, () => randomUUID());
  await behindAHeldMessage(ids);
  for (const id of ids) await bus.waitFor('inventory.committed.v1', (p) => p.orderId === id);
  const rows = await effects(ids);
  assert.equal(rows.length, ids.length, 'one effect per message');
  const txids = new Set(rows.map((r) => r.txid));
  assert.ok(txids.size <= 3, `15 messages behind a held one (batches of at most 8) committed in ${txids.size} transactions`);
  for (const id of ids) assert.equal(bus.messages('inventory.committed.v1', (p) => p.orderId === id).length, 1);
});

test('a message that fails in a batch fails alone: the others keep their effects once, it is retried and dead-lettered', async () => {
  const ids = Array.from({ length: 6 }, () => randomUUID());
  const bad = ids[2];
  poisoned.add(bad);
  const splits = await handledCount('inventory.commands', 'batch', 'batch_split');
  await behindAHeldMessage(ids);
  for (const id of ids.filter((i) => i !== bad)) await bus.waitFor('inventory.committed.v1', (p) => p.orderId === id);
  await eventually(async () => (await bus.queueDepth(`${prefix}.inventory.commands.dlq`)) === 1, 10000, 50, 'the failing message dead-lettered');
  const rows = await effects(ids);
  assert.deepEqual(rows.map((r) => r.order_id).sort(), ids.filter((i) => i !== bad).sort(), 'every other message has its effect, once; the failed one none');
  assert.ok((await handledCount('inventory.commands', 'batch', 'batch_split')) > splits, 'the batch was split');
});

test('a statement the database rejects in a batch costs only its own message', async () => {
  const ids = Array.from({ length: 5 }, () => randomUUID());
  const bad = ids[0];
  badSql.add(bad);
  const dlq = await bus.queueDepth(`${prefix}.inventory.commands.dlq`);
  await behindAHeldMessage(ids);
  for (const id of ids.slice(1)) await bus.waitFor('inventory.committed.v1', (p) => p.orderId === id);
  await eventually(async () => (await bus.queueDepth(`${prefix}.inventory.commands.dlq`)) === dlq + 1, 10000, 50, 'the failing message dead-lettered');
  assert.equal((await effects(ids)).length, ids.length - 1);
});

test('a message delivered twice into the same batch has its effect once', async () => {
  const orderId = randomUUID();
  const id = randomUUID();
  const acked = await handledCount('inventory.commands', 'inventory.reserve.v1');
  await behindAHeldMessage([orderId, orderId, orderId], (o) => reserve(o, id));
  await eventually(async () => (await handledCount('inventory.commands', 'inventory.reserve.v1')) >= acked + 4, 10000, 20, 'all deliveries acknowledged');
  await bus.waitFor('inventory.committed.v1', (p) => p.orderId === orderId);
  assert.equal((await effects([orderId])).length, 1);
  assert.equal(bus.messages('inventory.committed.v1', (p) => p.orderId === orderId).length, 1);
});
