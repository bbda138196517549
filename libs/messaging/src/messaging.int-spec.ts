import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, handledCount } from '@orders/testing';
import { statementText } from '@orders/persistence';
import { hold, knobs } from '../test/toy-consumers';
import { startToyService, ToyService } from '../test/toy-rig';
import { AmqpConnection } from './connection';
import { currentDeliveryStore } from './context';
import { Messaging, oneStatement, Outbox, UnitOfWork, type OneStatement } from './index';
import { DIRECT_PUBLISH_GRACE_MS } from './outbox';
import { OutboxRelay } from './relay';

/**
 * The plumbing every service relies on, against the real broker and database:
 * the toy service's worker.jobs handler writes an effect row and publishes
 * work.done.v1, so duplicates, lost messages and premature acks are visible.
 * The broker is reached through a proxy the tests cut.
 */
let svc: ToyService;

before(async () => {
  svc = await startToyService({ label: 'plumbing', queues: { 'worker.jobs': 8 }, brokerProxy: true });
});

after(async () => {
  await svc?.cleanup();
});

const request = (jobId: string, quantity = 1, id?: string) =>
  svc.publish('work.requested.v1', { jobId, owner: 'alice', items: [{ sku: 'SKU-1', quantity }] }, { id });
const outboxRows = async () => (await svc.sql<{ n: number }>('SELECT count(*)::int AS n FROM outbox'))[0].n;
const dlq = () => svc.queue('worker.jobs', 'dlq');

test('a consumed message has its effect once and its reply leaves through the outbox', async () => {
  const jobId = randomUUID();
  await request(jobId, 3);
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === jobId);
  assert.equal(await svc.effects(jobId), 1);
  // the row is deleted just after the broker confirmed the publish
  await eventually(async () => (await outboxRows()) === 0, 5000, 20, 'outbox drained');
});

test('a redelivered message (same id) has no second effect and publishes nothing twice', async () => {
  const jobId = randomUUID();
  const id = randomUUID();
  const acked = await handledCount('worker.jobs', 'work.requested.v1');
  for (let i = 0; i < 3; i++) await request(jobId, 1, id);
  await eventually(async () => (await handledCount('worker.jobs', 'work.requested.v1')) === acked + 3, 5000, 20, 'three deliveries acknowledged');
  await svc.app.get(Messaging).flush();
  await svc.bus.sync();
  assert.equal(await svc.effects(jobId), 1);
  assert.equal(svc.bus.messages('work.done.v1', (p) => p.jobId === jobId).length, 1);
});

test('a handler that throws is not acked: it is retried after a delay and then succeeds', async () => {
  const jobId = randomUUID();
  knobs.failures.set(jobId, 2);
  await request(jobId);
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === jobId, 10000);
  assert.deepEqual(knobs.seen.get(jobId)?.map((s) => s.attempt), [1, 2, 3]);
  assert.equal(await svc.effects(jobId), 1);
});

test('a message that keeps failing is dead-lettered with its reason, and messages behind it still flow', async () => {
  const poisoned = randomUUID();
  knobs.failures.set(poisoned, 99);
  await request(poisoned);
  const healthy = randomUUID();
  await request(healthy);
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === healthy);
  await eventually(async () => (await svc.bus.queueDepth(dlq())) === 1, 10000, 50, 'dead letter');
  assert.deepEqual(knobs.seen.get(poisoned)?.map((s) => s.attempt), [1, 2, 3], 'tried once plus one retry per configured delay');
  assert.equal(await svc.effects(poisoned), 0);
  const parked = await svc.app.get(AmqpConnection).withChannel((ch) => ch.get(dlq(), { noAck: true }));
  assert.ok(parked);
  assert.match(String(parked.properties.headers?.['x-last-error']), /planned failure/);
  assert.equal(parked.properties.headers?.['x-attempts'], 3);
});

test('a deferred message comes back through the defer tiers without using up attempts, keeping its first-attempt time', async () => {
  const jobId = randomUUID();
  knobs.deferrals.set(jobId, 4); // more deferrals than RETRIES allows attempts: a retry would have dead-lettered it
  await request(jobId);
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === jobId, 10000);
  const seen = knobs.seen.get(jobId)!;
  assert.deepEqual(seen.map((c) => c.attempt), [1, 1, 1, 1, 1]);
  assert.deepEqual(seen.map((c) => c.deferrals), [0, 1, 2, 3, 4]);
  assert.equal(new Set(seen.map((c) => c.firstAttemptAt)).size, 1, 'first-attempt time carried along');
  const gaps = seen.slice(1).map((c, i) => c.at - seen[i].at);
  assert.ok(gaps[0] >= 40 && gaps[2] >= 140 && gaps[3] >= 140, `waits follow the tiers (50, 150), the last repeating: ${gaps}`);
  assert.equal(await svc.effects(jobId), 1);
  assert.equal(await svc.bus.queueDepth(dlq()), 0);
});

test('a malformed message is dead-lettered at once without blocking the queue', async () => {
  await svc.bus.publishRaw('work.requested.v1', Buffer.from('{"not":"an envelope"'));
  const invalid = { id: randomUUID(), name: 'work.requested.v1', occurredAt: new Date().toISOString(), payload: { jobId: 'x' } };
  await svc.bus.publishRaw('work.requested.v1', Buffer.from(JSON.stringify(invalid)));
  const after = randomUUID();
  await request(after);
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === after);
  await eventually(async () => (await svc.bus.queueDepth(dlq())) === 2, 5000, 50, 'two dead letters');
});

test('the outbox relay survives a broker connection drop: messages written meanwhile are published after reconnect', async () => {
  const uow = svc.app.get(UnitOfWork);
  const amqp = svc.app.get(AmqpConnection);
  await svc.app.get(Messaging).flush(); // earlier tests' published rows deleted (they go together, every 100 ms at most)
  svc.brokerProxy!.refuse(true);
  svc.brokerProxy!.dropAll();
  await eventually(() => !amqp.isConnected, 5000, 20, 'disconnect noticed');
  const ids = Array.from({ length: 20 }, () => randomUUID());
  for (const jobId of ids) await uow.transaction(async (tx) => tx.publish('work.done.v1', { jobId, owner: 'alice' }));
  assert.equal(await outboxRows(), 20, 'kept while the broker is away');
  svc.brokerProxy!.refuse(false);
  await eventually(() => amqp.isConnected, 15000, 50, 'reconnect');
  for (const jobId of ids) await svc.bus.waitFor('work.done.v1', (p) => p.jobId === jobId, 10000);
  // and the consumer resubscribed after the reconnect
  const jobId = randomUUID();
  await request(jobId);
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === jobId, 10000);
  await svc.app.get(Messaging).flush();
});

const effectOf = (name: string, inboxGate?: string) =>
  oneStatement(name, {
    ctes: `ins AS (INSERT INTO effects (queue, job_id, txid) SELECT 'worker.jobs', $3::uuid, txid_current() FROM inbox_row RETURNING 1)`,
    select: 'SELECT (SELECT count(*) FROM ins)::int AS n',
    types: ['uuid'],
    inboxGate,
  });
const EFFECT = effectOf('toy_effect');
const EFFECT_GATED_OFF = effectOf('toy_effect_gated_off', 'WHERE false');

test('handleOnceInOneStatement: the effect and the inbox row commit together once; a failed gate records nothing', async () => {
  const uow = svc.app.get(UnitOfWork);
  const jobId = randomUUID();
  const env = { id: randomUUID(), name: 'work.requested.v1' as const, occurredAt: new Date().toISOString(), payload: { jobId, owner: 'alice', items: [{ sku: 'SKU-1', quantity: 3 }] } };
  const effect = (stmt: OneStatement) =>
    currentDeliveryStore.run({ queue: 'worker.jobs', messageId: env.id, name: env.name, fields: {} }, () =>
      uow.handleOnceInOneStatement<{ n: number }>(env, stmt, [jobId]));
  // a gate that does not hold: neither the effect nor the inbox row
  assert.deepEqual(await effect(EFFECT_GATED_OFF), [{ n: 0 }]);
  assert.equal(await svc.effects(jobId), 0);
  // the first delivery has its effect, a redelivery none
  assert.deepEqual(await effect(EFFECT), [{ n: 1 }]);
  assert.deepEqual(await effect(EFFECT), [{ n: 0 }]);
  assert.equal(await svc.effects(jobId), 1);
  assert.deepEqual(await svc.sql('SELECT queue FROM inbox WHERE message_id = $1', [env.id]), [{ queue: 'worker.jobs' }]);
});

test("a transaction's messages are published right after its commit, without waiting for the relay, and leave the outbox", async () => {
  assert.equal(svc.app.get(Outbox).publishesDirectly, true);
  const jobId = randomUUID();
  await svc.app.get(UnitOfWork).transaction(async (tx) => tx.publish('work.done.v1', { jobId, owner: 'alice' }));
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === jobId, 5000);
  await svc.app.get(Messaging).flush();
  assert.equal(await outboxRows(), 0);
});

test('rows whose writer died between commit and publish are published by the relay once their grace has passed', async () => {
  const outbox = svc.app.get(Outbox);
  const relay = svc.app.get(OutboxRelay);
  const jobId = randomUUID();
  // what a writer leaves behind when it is killed right after commit: a row it meant to publish itself, never published
  const insert = outbox.insertSql([outbox.row('work.done.v1', { jobId, owner: 'alice' })]);
  assert.equal(insert.direct, true);
  await svc.sql(`BEGIN; ${statementText(insert.sql)}; COMMIT`);
  relay.wake();
  await relay.flush();
  await svc.bus.sync();
  assert.equal(svc.bus.messages('work.done.v1', (p) => p.jobId === jobId).length, 0, 'left to its writer during the grace');
  await eventually(async () => (await svc.sql('SELECT 1 FROM outbox WHERE relay_after <= now()')).length > 0, DIRECT_PUBLISH_GRACE_MS + 2000, 100, 'grace passed');
  relay.wake(); // the relay's sweep does this every few seconds
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === jobId, 5000);
});

test('a handler marked afterEarlier runs only once the messages delivered before it have settled; later ones do not wait for it', async () => {
  const held = randomUUID();
  const open = hold(held);
  await request(held);
  await eventually(() => knobs.atGate.has(held), 10000, 20, 'the request is being handled');
  await svc.publish('work.cancelled.v1', { jobId: held, reason: 'test' });
  // a request delivered after the cancel (prefetch 8: handled side by side) goes through while the first is held,
  // so the cancel has been delivered too by the time it is done
  const later = randomUUID();
  await request(later);
  await eventually(async () => (await svc.effects(later)) === 1, 10000, 20, 'the later request handled');
  const cancelsHandled = () => (knobs.seen.get(held) ?? []).length;
  assert.equal(cancelsHandled(), 1, 'the cancel waits for the request delivered before it');
  open();
  await eventually(async () => (await svc.effects(held)) === 2, 10000, 20, 'the cancel handled once the request settled');
  assert.equal(cancelsHandled(), 2);
});
