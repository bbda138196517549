import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, handledCount } from '@orders/testing';
import { hold, knobs } from '../test/toy-consumers';
import { startToyService, ToyService } from '../test/toy-rig';

/**
 * Consumption in batches (consumers.maxBatch), against the real broker and
 * database: the deliveries that gather while a batch runs are handled in one
 * transaction, and one message's failure stays its own. Each effect row
 * records the transaction it was written in.
 */
let svc: ToyService;

before(async () => {
  svc = await startToyService({ label: 'batches', queues: { 'worker.batch': 16 }, maxBatch: 8 });
});

after(async () => {
  await svc?.cleanup();
});

const item = (jobId: string, id?: string) => svc.publish('work.batched.v1', { jobId, owner: 'alice', items: [{ sku: 'SKU-1', quantity: 1 }] }, { id });
const effects = (ids: string[]) => svc.sql<{ job_id: string; txid: string }>('SELECT job_id, txid::text FROM effects WHERE job_id = ANY($1::uuid[])', [ids]);
const dlq = () => svc.queue('worker.batch', 'dlq');

/** Holds a first message in its handler, queues `ids` behind it, then lets it go: they gather into batches meanwhile. */
async function behindAHeldMessage(ids: string[], publish: (id: string) => Promise<unknown> = (id) => item(id)): Promise<void> {
  const held = randomUUID();
  const open = hold(held);
  await item(held);
  await eventually(() => knobs.atGate.has(held), 10000, 20, 'the first message is being handled');
  for (const id of ids) await publish(id);
  // all of them delivered to the consumer (prefetch 16), none ready in the queue: they gather behind the held one
  await eventually(async () => (await svc.bus.queueDepth(svc.queue('worker.batch'))) === 0, 10000, 10, 'delivered to the consumer');
  open();
}

test('messages that gather while a batch runs are handled together: one transaction for several, each effect once, every reply published', async () => {
  const ids = Array.from({ length: 15 }, () => randomUUID());
  await behindAHeldMessage(ids);
  for (const id of ids) await svc.bus.waitFor('work.done.v1', (p) => p.jobId === id);
  const rows = await effects(ids);
  assert.equal(rows.length, ids.length, 'one effect per message');
  const txids = new Set(rows.map((r) => r.txid));
  assert.ok(txids.size <= 3, `15 messages behind a held one (batches of at most 8) committed in ${txids.size} transactions`);
  await svc.bus.sync();
  for (const id of ids) assert.equal(svc.bus.messages('work.done.v1', (p) => p.jobId === id).length, 1);
});

test('a message that fails in a batch fails alone: the others keep their effects once, it is retried and dead-lettered', async () => {
  const ids = Array.from({ length: 6 }, () => randomUUID());
  const bad = ids[2];
  knobs.failures.set(bad, 99);
  const splits = await handledCount('worker.batch', 'batch', 'batch_split');
  await behindAHeldMessage(ids);
  for (const id of ids.filter((i) => i !== bad)) await svc.bus.waitFor('work.done.v1', (p) => p.jobId === id);
  await eventually(async () => (await svc.bus.queueDepth(dlq())) === 1, 10000, 50, 'the failing message dead-lettered');
  const rows = await effects(ids);
  assert.deepEqual(rows.map((r) => r.job_id).sort(), ids.filter((i) => i !== bad).sort(), 'every other message has its effect, once; the failed one none');
  assert.ok((await handledCount('worker.batch', 'batch', 'batch_split')) > splits, 'the batch was split');
});

test('a statement the database rejects in a batch costs only its own message', async () => {
  const ids = Array.from({ length: 5 }, () => randomUUID());
  knobs.badSql.add(ids[0]);
  const before = await svc.bus.queueDepth(dlq());
  await behindAHeldMessage(ids);
  for (const id of ids.slice(1)) await svc.bus.waitFor('work.done.v1', (p) => p.jobId === id);
  await eventually(async () => (await svc.bus.queueDepth(dlq())) === before + 1, 10000, 50, 'the failing message dead-lettered');
  assert.equal((await effects(ids)).length, ids.length - 1);
});

test('a message delivered twice into the same batch has its effect once', async () => {
  const jobId = randomUUID();
  const id = randomUUID();
  const acked = await handledCount('worker.batch', 'work.batched.v1');
  await behindAHeldMessage([jobId, jobId, jobId], (j) => item(j, id));
  await eventually(async () => (await handledCount('worker.batch', 'work.batched.v1')) >= acked + 4, 10000, 20, 'all deliveries acknowledged');
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === jobId);
  await svc.bus.sync();
  assert.equal((await effects([jobId])).length, 1);
  assert.equal(svc.bus.messages('work.done.v1', (p) => p.jobId === jobId).length, 1);
});
