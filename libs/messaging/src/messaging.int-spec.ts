import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Controller, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { INestApplication } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Envelope } from '@orders/contracts';
import { migrateService, serviceDataSourceOptions } from '@orders/persistence';
import { createTestDatabase, deleteBrokerTopology, eventually, TcpProxy, TestBus, TestDatabase, uniqueName } from '@orders/testing';
import { QueueType } from './topology';

/** The messaging suite runs on both kinds of queue (tools/test-all.sh sets TEST_QUEUE_TYPE=quorum for the second run). */
const TEST_QUEUE_TYPE: QueueType = process.env.TEST_QUEUE_TYPE === 'quorum' ? 'quorum' : 'classic';
import { DataSource } from 'typeorm';
import { AmqpConnection } from './amqp-connection';
import { AmqpMessageContext, AmqpTransport } from './amqp-transport';
import { MessagingModule } from './messaging.module';
import { DIRECT_PUBLISH_GRACE_MS, MESSAGING_MIGRATIONS, outboxInsertSql, toOutboxRow } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { OnMessage } from './on-message';
import { DUPLICATE, UnitOfWork } from './unit-of-work';
import { currentMessage } from './message-context';

/**
 * The plumbing every service relies on, against the real broker and database:
 * a fake "inventory" consumer counts effects in its own table, so duplicates,
 * lost messages and premature acks are visible.
 */
const SCHEMA = 'plumbing';
const RETRIES = [100, 200];
const DEFERS = [50, 150];
let db: TestDatabase;
let prefix: string;
let proxy: TcpProxy;
let app: INestApplication;
let bus: TestBus;
let transport: AmqpTransport;

/** Test knobs: how often the handler should still fail for an order id. */
const failuresLeft = new Map<string, number>();
const attemptsSeen = new Map<string, number[]>();
/** How often the handler should still defer an order id, and what the context said on each delivery. */
const deferralsLeft = new Map<string, number>();
const contextsSeen = new Map<string, Array<{ attempt: number; deferrals: number; firstAttemptAt: number; at: number }>>();
/** Reserves held in their handler until the promise settles, and those waiting there now. */
const gates = new Map<string, Promise<void>>();
const atGate = new Set<string>();
/** Releases handled (their handler waits for earlier deliveries: afterEarlier), in order. */
const released: string[] = [];

@Injectable()
class EffectService {
  constructor(private readonly uow: UnitOfWork) {}
  async reserve(env: Envelope<'inventory.reserve.v1'>, ctx: AmqpMessageContext): Promise<void> {
    const id = env.payload.orderId;
    if (gates.has(id)) {
      atGate.add(id);
      await gates.get(id);
      atGate.delete(id);
    }
    const attempt = ctx.attempt;
    attemptsSeen.set(id, [...(attemptsSeen.get(id) ?? []), attempt]);
    contextsSeen.set(id, [...(contextsSeen.get(id) ?? []), { attempt, deferrals: ctx.deferrals, firstAttemptAt: ctx.firstAttemptAt.getTime(), at: Date.now() }]);
    const defers = deferralsLeft.get(id) ?? 0;
    if (defers > 0) {
      deferralsLeft.set(id, defers - 1);
      throw Object.assign(new Error(`not yet for ${id}`), { disposition: 'defer' });
    }
    const left = failuresLeft.get(id) ?? 0;
    if (left > 0) {
      failuresLeft.set(id, left - 1);
      throw new Error(`planned failure for ${id}`);
    }
    const r = await this.uow.handleOnce(env, async (tx) => {
      await tx.manager.query('INSERT INTO effects (order_id, qty) VALUES ($1, $2)', [id, env.payload.items[0].quantity]);
      tx.publish('inventory.committed.v1', { orderId: id, tenantId: env.payload.tenantId });
    });
    if (r === DUPLICATE) return;
  }
}

@Controller()
class EffectConsumer {
  constructor(private readonly svc: EffectService) {}
  @OnMessage('inventory.commands', 'inventory.reserve.v1')
  reserve(@Payload() env: Envelope<'inventory.reserve.v1'>, @Ctx() ctx: AmqpMessageContext) {
    return this.svc.reserve(env, ctx);
  }

  @OnMessage('inventory.commands', 'inventory.release.v1', { afterEarlier: true })
  release(@Payload() env: Envelope<'inventory.release.v1'>) {
    released.push(env.payload.orderId);
  }
}

const count = async (orderId: string) =>
  Number((await app.get(DataSource).query('SELECT count(*)::int AS n FROM effects WHERE order_id = $1', [orderId]))[0].n);

before(async () => {
  db = await createTestDatabase('plumbing');
  prefix = uniqueName('t').toLowerCase();
  proxy = new TcpProxy('127.0.0.1', 5672);
  await proxy.start();
  class EffectsTable1732320000500 {
    name = 'EffectsTable1732320000500';
    async up(q: { query(s: string): Promise<unknown> }) {
      await q.query('CREATE TABLE effects (id bigserial PRIMARY KEY, order_id uuid NOT NULL, qty int NOT NULL)');
    }
    async down() {}
  }
  const migrations = [...MESSAGING_MIGRATIONS, EffectsTable1732320000500];
  await migrateService({ url: db.url, schema: SCHEMA, migrations });
  @Module({
    imports: [
      TypeOrmModule.forRoot(serviceDataSourceOptions({ url: db.url, schema: SCHEMA, migrations })),
      MessagingModule.forRoot({
        queueType: TEST_QUEUE_TYPE,
        rabbitmqUrl: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        prefix,
        serviceName: 'plumbing-test',
        databaseUrl: db.url,
        schema: SCHEMA,
        ownQueues: ['inventory.commands'],
        retryDelaysMs: RETRIES,
        deferDelaysMs: DEFERS,
      }),
    ],
    controllers: [EffectConsumer],
    providers: [EffectService],
  })
  class TestModule {}
  app = await NestFactory.create(TestModule, new FastifyAdapter(), { logger: ['error'] });
  transport = new AmqpTransport(app.get(AmqpConnection), { prefetch: {}, defaultPrefetch: 8, retryDelaysMs: RETRIES });
  app.connectMicroservice({ strategy: transport });
  await app.startAllMicroservices();
  await app.init();
  bus = await TestBus.connect(prefix, ['inventory.committed.v1']);
});

after(async () => {
  await bus?.cleanup();
  await app?.close();
  await proxy?.stop();
  await db?.drop();
  await deleteBrokerTopology(prefix, [...RETRIES, ...DEFERS]);
});

const reserve = (orderId: string, quantity = 1, id?: string) =>
  bus.publish('inventory.reserve.v1', { orderId, tenantId: 't1', items: [{ sku: 'SKU-1', quantity }] }, { id });

test('a consumed message has its effect once and its reply is relayed from the outbox', async () => {
  const orderId = randomUUID();
  await reserve(orderId, 3);
  await bus.waitFor('inventory.committed.v1', (p) => p.orderId === orderId);
  assert.equal(await count(orderId), 1);
  // the relay deletes the row when it commits, just after the broker confirmed the publish
  await eventually(async () => Number((await app.get(DataSource).query('SELECT count(*)::int AS n FROM outbox'))[0].n) === 0, 5000, 20, 'outbox drained');
});

test('a redelivered message (same id) has no second effect and publishes nothing twice', async () => {
  const orderId = randomUUID();
  const id = randomUUID();
  await reserve(orderId, 1, id);
  await reserve(orderId, 1, id);
  await reserve(orderId, 1, id);
  await bus.waitFor('inventory.committed.v1', (p) => p.orderId === orderId);
  await eventually(async () => (attemptsSeen.get(orderId)?.length ?? 0) === 3, 5000, 20, 'three deliveries');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await count(orderId), 1);
  assert.equal(bus.messages('inventory.committed.v1', (p) => p.orderId === orderId).length, 1);
});

test('a handler that throws is not acked: it is retried after a delay and then succeeds', async () => {
  const orderId = randomUUID();
  failuresLeft.set(orderId, 2);
  await reserve(orderId);
  await bus.waitFor('inventory.committed.v1', (p) => p.orderId === orderId, 10000);
  assert.deepEqual(attemptsSeen.get(orderId), [1, 2, 3]);
  assert.equal(await count(orderId), 1);
});

test('a message that keeps failing is dead-lettered with its reason, and messages behind it still flow', async () => {
  const poisoned = randomUUID();
  failuresLeft.set(poisoned, 99);
  await reserve(poisoned);
  const healthy = randomUUID();
  await reserve(healthy);
  await bus.waitFor('inventory.committed.v1', (p) => p.orderId === healthy);
  const dlq = `${prefix}.inventory.commands.dlq`;
  await eventually(async () => (await bus.queueDepth(dlq)) === 1, 10000, 50, 'dead letter');
  assert.deepEqual(attemptsSeen.get(poisoned), [1, 2, 3], 'tried once plus one retry per configured delay');
  assert.equal(await count(poisoned), 0);
  const parked = await app.get(AmqpConnection).withChannel((ch) => ch.get(dlq, { noAck: true }));
  assert.ok(parked);
  assert.match(String(parked.properties.headers?.['x-last-error']), /planned failure/);
  assert.equal(parked.properties.headers?.['x-attempts'], 3);
});

test('a deferred message comes back through the defer tiers without using up attempts, keeping its first-attempt time', async () => {
  const orderId = randomUUID();
  deferralsLeft.set(orderId, 4); // more deferrals than RETRIES allows attempts: a retry would have dead-lettered it
  await reserve(orderId);
  await bus.waitFor('inventory.committed.v1', (p) => p.orderId === orderId, 10000);
  const seen = contextsSeen.get(orderId)!;
  assert.deepEqual(seen.map((c) => c.attempt), [1, 1, 1, 1, 1]);
  assert.deepEqual(seen.map((c) => c.deferrals), [0, 1, 2, 3, 4]);
  assert.equal(new Set(seen.map((c) => c.firstAttemptAt)).size, 1, 'first-attempt time carried along');
  const gaps = seen.slice(1).map((c, i) => c.at - seen[i].at);
  assert.ok(gaps[0] >= 40 && gaps[2] >= 140 && gaps[3] >= 140, `waits follow the tiers, the last repeating: ${gaps}`);
  assert.equal(await count(orderId), 1);
  assert.equal(await bus.queueDepth(`${prefix}.inventory.commands.dlq`), 0);
});

test('a malformed message is dead-lettered at once without blocking the queue', async () => {
  await bus.publishRaw('inventory.reserve.v1', Buffer.from('{"not":"an envelope"'));
  const invalid = { id: randomUUID(), name: 'inventory.reserve.v1', occurredAt: new Date().toISOString(), payload: { orderId: 'x' } };
  await bus.publishRaw('inventory.reserve.v1', Buffer.from(JSON.stringify(invalid)));
  const after = randomUUID();
  await reserve(after);
  await bus.waitFor('inventory.committed.v1', (p) => p.orderId === after);
  await eventually(async () => (await bus.queueDepth(`${prefix}.inventory.commands.dlq`)) === 2, 5000, 50, 'two dead letters');
});

test('the outbox relay survives a broker connection drop: messages written meanwhile are published after reconnect', async () => {
  const uow = app.get(UnitOfWork);
  const amqp = app.get(AmqpConnection);
  proxy.refuse(true);
  proxy.dropAll();
  await eventually(() => !amqp.isConnected, 5000, 20, 'disconnect noticed');
  const ids = Array.from({ length: 20 }, () => randomUUID());
  for (const orderId of ids) {
    await uow.transaction(async (tx) => tx.publish('inventory.committed.v1', { orderId, tenantId: 't1' }));
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(Number((await app.get(DataSource).query('SELECT count(*)::int AS n FROM outbox'))[0].n), 20, 'kept while the broker is away');
  proxy.refuse(false);
  await eventually(() => amqp.isConnected, 15000, 50, 'reconnect');
  for (const orderId of ids) await bus.waitFor('inventory.committed.v1', (p) => p.orderId === orderId, 10000);
  // and the consumer resubscribed after the reconnect
  const orderId = randomUUID();
  await reserve(orderId);
  await bus.waitFor('inventory.committed.v1', (p) => p.orderId === orderId, 10000);
  await app.get(OutboxRelay).flush();
});

test('handleOnceInOneStatement: the effect and the inbox row commit together once; a failed gate records nothing', async () => {
  const uow = app.get(UnitOfWork);
  const orderId = randomUUID();
  const env = { id: randomUUID(), name: 'inventory.reserve.v1', occurredAt: new Date().toISOString(), payload: { orderId, tenantId: 't1', items: [{ sku: 'SKU-1', quantity: 3 }] } } as unknown as Envelope<'inventory.reserve.v1'>;
  const effect = (gate = '') => currentMessage.run({ queue: 'inventory.commands', messageId: env.id, name: env.name }, () =>
    uow.handleOnceInOneStatement<{ n: number }>(env, 'ins AS (INSERT INTO effects (order_id, qty) SELECT $3::uuid, $4::int FROM inbox_row RETURNING 1)', 'SELECT (SELECT count(*) FROM ins)::int AS n', [orderId, 3], gate));
  // a gate that does not hold: neither the effect nor the inbox row
  assert.deepEqual(await effect('WHERE false'), [{ n: 0 }]);
  assert.equal(await count(orderId), 0);
  // the first delivery has its effect, a redelivery none
  assert.deepEqual(await effect(), [{ n: 1 }]);
  assert.deepEqual(await effect(), [{ n: 0 }]);
  assert.equal(await count(orderId), 1);
  const inbox = await app.get(DataSource).query('SELECT queue FROM inbox WHERE message_id = $1', [env.id]);
  assert.deepEqual(inbox, [{ queue: 'inventory.commands' }]);
});

test('a transaction\'s messages are published right after its commit, without waiting for the relay, and leave the outbox', async () => {
  const uow = app.get(UnitOfWork);
  const relay = app.get(OutboxRelay);
  assert.equal(relay.canPublishDirectly, true);
  const orderId = randomUUID();
  await uow.transaction(async (tx) => tx.publish('inventory.committed.v1', { orderId, tenantId: 't1' }));
  await bus.waitFor('inventory.committed.v1', (p) => p.orderId === orderId, 5000);
  await relay.flush();
  assert.equal(Number((await app.get(DataSource).query('SELECT count(*)::int AS n FROM outbox'))[0].n), 0);
});

test('rows whose writer died between commit and publish are published by the relay once their grace has passed', async () => {
  const ds = app.get(DataSource);
  const orderId = randomUUID();
  // what a writer leaves behind when it is killed right after commit: a direct row, never published
  await ds.transaction((m) => m.query(outboxInsertSql(SCHEMA, [toOutboxRow('inventory.committed.v1', { orderId, tenantId: 't1' })], true)));
  app.get(OutboxRelay).wake();
  await app.get(OutboxRelay).flush();
  assert.equal(bus.messages('inventory.committed.v1', (p) => p.orderId === orderId).length, 0, 'left to its writer during the grace');
  await eventually(async () => (await ds.query('SELECT 1 FROM outbox WHERE relay_after <= now()')).length > 0, DIRECT_PUBLISH_GRACE_MS + 2000, 100, 'grace passed');
  app.get(OutboxRelay).wake(); // the relay's sweep does this every few seconds
  await bus.waitFor('inventory.committed.v1', (p) => p.orderId === orderId, 5000);
});

test('a handler marked afterEarlier runs only once the messages delivered before it have settled; later ones do not wait for it', async () => {
  const held = randomUUID();
  let open!: () => void;
  gates.set(held, new Promise<void>((r) => (open = r)));
  await reserve(held);
  await eventually(() => atGate.has(held), 10000, 20, 'the reserve is being handled');
  await bus.publish('inventory.release.v1', { orderId: held, tenantId: 't1', reason: 'test' });
  // a reserve delivered after the release (prefetch 8: handled side by side) goes through while the first is held,
  // so the release has been delivered too by the time it is done
  const later = randomUUID();
  await reserve(later);
  await eventually(async () => (await count(later)) === 1, 10000, 20, 'the later reserve handled');
  assert.equal(released.includes(held), false, 'the release waits for the reserve delivered before it');
  open();
  await eventually(() => released.includes(held), 10000, 20, 'the release handled once the reserve settled');
  assert.equal(await count(held), 1);
});
