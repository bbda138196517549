import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';
import { eventually, handledCount } from '@orders/testing';
import { hold, knobs } from '../test/toy-consumers';
import { rawBroker, RawBroker, startToyService, toyEnvironment, ToyEnvironment, ToyService } from '../test/toy-rig';
import { AmqpConnection } from './connection';
import { Messaging, UnitOfWork } from './index';
import { PACK_TYPE } from './packing';

/**
 * Packs on the real broker and database: what one transaction (or several
 * committed while a publish is in flight) writes for one routing key
 * crosses the broker as one delivery, and each message in it is still
 * handled exactly once, on its own terms (its retries, its concurrency).
 */
let env: ToyEnvironment;
let svc: ToyService;
let raw: RawBroker;
/** What a spy queue, bound like worker.jobs and worker.batch, received: one entry per broker delivery. */
const wire: ConsumeMessage[] = [];

before(async () => {
  env = await toyEnvironment('packing');
  svc = await startToyService({ env, queues: { 'worker.jobs': 2, 'worker.batch': 16 }, maxBatch: 8, packMax: 32 });
  raw = await rawBroker();
  const ch = await raw.conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  for (const k of ['work.requested.v1.#', 'work.batched.v1.#', 'work.done.v1.#', 'work.status.v1.#']) await ch.bindQueue(queue, `${env.prefix}.events`, k);
  await ch.consume(queue, (m) => m && wire.push(m), { noAck: true });
});

after(async () => {
  await raw?.close();
  await svc?.cleanup();
  await env?.cleanup();
});

const item = (jobId: string) => ({ jobId, owner: 'alice', items: [{ sku: 'SKU-1', quantity: 1 }] });
const packsOf = (ids: string[], name = '') => wire.filter((m) => m.properties.type === PACK_TYPE && m.fields.routingKey.startsWith(name) && ids.some((id) => m.content.includes(id)));
const effects = (ids: string[]) => svc.sql<{ job_id: string; txid: string }>('SELECT job_id, txid::text FROM effects WHERE job_id = ANY($1::uuid[])', [ids]);

// Guards: one broker delivery per message (the cost packs remove) and a pack's messages lost, doubled or mixed with another's effects.
test('what one transaction publishes for one routing key is one delivery, and each message in it is handled once, in one transaction', async () => {
  const ids = Array.from({ length: 12 }, () => randomUUID());
  await svc.app.get(UnitOfWork).transaction(async (tx) => {
    for (const id of ids) tx.publish('work.batched.v1', item(id));
  });
  for (const id of ids) await svc.bus.waitFor('work.done.v1', (p) => p.jobId === id);
  const packs = packsOf(ids, 'work.batched.v1');
  assert.equal(packs.length, 1, 'the twelve crossed the broker as one pack');
  await eventually(() => packsOf(ids, 'work.done.v1').length >= 2, 10000, 10, 'the replies of each batch as a pack');
  assert.ok(wire.filter((m) => m.fields.routingKey.startsWith('work.done.v1') && ids.some((id) => m.content.includes(id))).length <= 3, 'twelve replies in at most three deliveries');
  assert.equal(packs[0].properties.headers?.['x-pack'], 12);
  const rows = await effects(ids);
  assert.equal(rows.length, 12, 'one effect per message');
  assert.ok(new Set(rows.map((r) => r.txid)).size <= 2, 'handled in batches of at most 8 (one pack: two transactions)');
  await svc.bus.sync();
  for (const id of ids) assert.equal(svc.bus.messages('work.done.v1', (p) => p.jobId === id).length, 1, 'every reply once');
});

// Guards: a pack's messages all running at once, past the queue's prefetch (an unbounded burst on a gateway, say).
test('on a queue handled side by side, a pack\'s messages run at most prefetch at a time, and all of them end', async () => {
  const ids = Array.from({ length: 8 }, () => randomUUID());
  const opens = ids.map((id) => hold(id));
  await svc.app.get(UnitOfWork).transaction(async (tx) => {
    for (const id of ids) tx.publish('work.requested.v1', item(id));
  });
  await eventually(() => knobs.atGate.size >= 2, 10000, 10, 'two of the pack running');
  await eventually(async () => (await svc.bus.queueDepth(svc.queue('worker.jobs'))) === 0, 10000, 10, 'the pack delivered');
  assert.equal(knobs.atGate.size, 2, 'only the prefetch of them started');
  let most = 0;
  for (const open of opens) {
    most = Math.max(most, ids.filter((id) => knobs.atGate.has(id)).length);
    open();
    await new Promise((r) => setImmediate(r));
  }
  for (const id of ids) await svc.bus.waitFor('work.done.v1', (p) => p.jobId === id);
  assert.ok(most <= 2, `at most the prefetch (2) ran at once, saw ${most}`);
  assert.equal(packsOf(ids, 'work.requested.v1').length, 1, 'the eight as one pack');
  assert.equal((await effects(ids)).length, 8);
});

// Guards: one message's failure retrying (or repeating) the whole pack.
test('a message of a pack that fails is retried on its own; the others are handled once, and the pack is acknowledged', async () => {
  const ids = Array.from({ length: 5 }, () => randomUUID());
  knobs.failures.set(ids[1], 1);
  await svc.app.get(UnitOfWork).transaction(async (tx) => {
    for (const id of ids) tx.publish('work.requested.v1', item(id));
  });
  for (const id of ids) await svc.bus.waitFor('work.done.v1', (p) => p.jobId === id);
  const rows = await effects(ids);
  assert.deepEqual(rows.map((r) => r.job_id).sort(), [...ids].sort(), 'each once');
  assert.deepEqual(knobs.seen.get(ids[1])?.map((s) => s.attempt), [1, 2], 'the failed one tried again alone');
  assert.deepEqual(knobs.seen.get(ids[0])?.map((s) => s.attempt), [1], 'the others once');
  await eventually(async () => (await svc.bus.queueDepth(svc.queue('worker.jobs'))) === 0, 10000, 20, 'nothing left unacknowledged');
});

// Guards: a pack that came back (its consumer died holding it) running as a pack again, so one message's crashes would count against all.
test('a pack that comes back unacknowledged is split into single messages, each handled once', async () => {
  const ids = Array.from({ length: 3 }, () => randomUUID());
  const ledger = env.queue('worker.ledger');
  const ch = await raw.conn.createChannel();
  await ch.purgeQueue(ledger); // the earlier tests' replies: no service consumes worker.ledger yet
  await svc.app.get(UnitOfWork).transaction(async (tx) => {
    for (const id of ids) tx.publish('work.done.v1', { jobId: id, owner: 'alice' });
  });
  await eventually(async () => (await ch.checkQueue(ledger)).messageCount === 1, 10000, 20, 'the pack in worker.ledger');
  const taken = await ch.get(ledger, { noAck: false });
  assert.ok(taken && taken.properties.type === PACK_TYPE, 'one pack of three');
  await ch.close(); // unacknowledged: back to the queue, redelivered
  const splits = await handledCount('worker.ledger', 'pack', 'split');
  const ledgerSvc = await startToyService({ env, queues: { 'worker.ledger': 4 }, packMax: 32 });
  try {
    await eventually(async () => (await svc.sql<{ n: number }>("SELECT count(*)::int AS n FROM effects WHERE queue = 'worker.ledger' AND job_id = ANY($1::uuid[])", [ids]))[0].n === 3, 10000, 20, 'all three handled');
    assert.equal(await handledCount('worker.ledger', 'pack', 'split'), splits + 1, 'split first');
    for (const id of ids) assert.equal(await env.effects(id, 'worker.ledger'), 1);
  } finally {
    await ledgerSvc.cleanup();
  }
});

/**
 * The service's next publish waits for its confirms until `open` (a broker slow to confirm, as under a flood);
 * with `refuseSecond`, the one after it is refused. `restore` puts the real publish back.
 */
function slowFirstPublish(o: { refuseSecond?: boolean } = {}): { open: () => void; restore: () => void; calls: () => number } {
  const amqp = svc.app.get(AmqpConnection);
  const real = amqp.publishConfirmed.bind(amqp);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let calls = 0;
  amqp.publishConfirmed = async (messages) => {
    const n = calls++;
    if (n === 0) await gate;
    if (n === 1 && o.refuseSecond) throw new Error('the broker refused it');
    return real(messages);
  };
  return { open, calls: () => calls, restore: () => ((amqp.publishConfirmed = real), open()) };
}

// Guards: a light tenant's message waiting behind a flood's publish for its confirms (Topology.publishAtOnce).
test('a message the topology publishes at once leaves while an earlier publish waits for its confirms; the rest of its transaction waits for the next, and every row is deleted once confirmed', async () => {
  const { open, restore } = slowFirstPublish();
  try {
    const uow = svc.app.get(UnitOfWork);
    const first = randomUUID();
    await uow.transaction(async (tx) => tx.publish('work.batched.v1', item(first)));
    const [urgent, alongside] = [randomUUID(), randomUUID()];
    await uow.transaction(async (tx) => {
      tx.publish('work.status.v1', { jobId: urgent, owner: 'urgent', status: 'DONE' });
      tx.publish('work.status.v1', { jobId: alongside, owner: 'alice', status: 'DONE' });
    });
    const seen = (id: string) => wire.some((m) => m.fields.routingKey.startsWith('work.status.v1') && m.content.includes(id));
    await eventually(() => seen(urgent), 5000, 10, 'the urgent status event on the wire while the first publish is held');
    assert.equal(seen(alongside), false, 'the other one gathers behind the held publish');
    assert.equal(wire.some((m) => m.content.includes(first)), false, 'the held publish is still held');
    open();
    await eventually(() => seen(alongside) && wire.some((m) => m.content.includes(first)), 5000, 10, 'the rest once the held publish is confirmed');
    await svc.app.get(Messaging).flush();
    const left = await svc.sql<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
    assert.equal(left[0].n, 0, 'every row deleted once confirmed');
  } finally {
    restore();
  }
});

// Guards: a row deleted with its transaction's other rows although its own publish (at once) failed: a lost message.
test('when a publish made at once fails, its rows are not deleted with the rest of their transaction: the relay publishes them', async () => {
  const { open, restore, calls } = slowFirstPublish({ refuseSecond: true });
  try {
    const uow = svc.app.get(UnitOfWork);
    await uow.transaction(async (tx) => tx.publish('work.batched.v1', item(randomUUID())));
    const [urgent, alongside] = [randomUUID(), randomUUID()];
    await uow.transaction(async (tx) => {
      tx.publish('work.status.v1', { jobId: urgent, owner: 'urgent', status: 'DONE' });
      tx.publish('work.status.v1', { jobId: alongside, owner: 'alice', status: 'DONE' });
    });
    await eventually(() => calls() >= 2, 5000, 10, 'the publish at once tried');
    open();
    const seen = (id: string) => wire.some((m) => m.fields.routingKey.startsWith('work.status.v1') && m.content.includes(id));
    await eventually(() => seen(urgent) && seen(alongside), 10000, 20, 'both on the wire, the refused one from the relay');
    await eventually(async () => (await svc.sql<{ n: number }>('SELECT count(*)::int AS n FROM outbox'))[0].n === 0, 10000, 20, 'the outbox empty');
  } finally {
    restore();
  }
});
