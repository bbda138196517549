import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, handledCount, statementsSent } from '@orders/testing';
import { hold, knobs } from '../test/toy-consumers';
import { startToyService, ToyService } from '../test/toy-rig';

/**
 * Batches whose handlers run together (@OnMessage together) and whose whole
 * effect is one statement each (UnitOfWork.handleOnceInOneStatement), on the
 * real broker and database: a batch's statements reach PostgreSQL in one
 * message with its BEGIN, so a batch of n is two round trips, not n + 2;
 * one message's failure still stays its own.
 */
let svc: ToyService;

before(async () => {
  svc = await startToyService({ label: 'together', queues: { 'worker.notes': 16 }, maxBatch: 8 });
});

after(async () => {
  await svc?.cleanup();
});

const note = (jobId: string, owner = 'alice') => svc.publish('work.noted.v1', { jobId, owner });
const effects = (ids: string[]) => svc.sql<{ job_id: string; txid: string }>('SELECT job_id, txid::text FROM effects WHERE job_id = ANY($1::uuid[])', [ids]);
const dlq = () => svc.queue('worker.notes', 'dlq');

/** Holds a first note in its handler, queues `notes` behind it (they gather into the next batch), lets it go; resolves once `done` holds. */
async function behindAHeldNote(notes: Array<[jobId: string, owner?: string]>, done: () => Promise<boolean>): Promise<void> {
  const held = randomUUID();
  const open = hold(held);
  await note(held);
  await eventually(() => knobs.atGate.has(held), 10000, 20, 'the first note is being handled');
  for (const [id, owner] of notes) await note(id, owner);
  await eventually(async () => (await svc.bus.queueDepth(svc.queue('worker.notes'))) === 0, 10000, 10, 'delivered to the consumer');
  open();
  await eventually(done, 15000, 20, 'the notes handled');
}

test("a batch's one-statement effects travel to PostgreSQL in one message with its BEGIN: two round trips for eight notes", async () => {
  const ids = Array.from({ length: 8 }, () => randomUUID());
  const sent = await statementsSent(() => behindAHeldNote(ids.map((id) => [id]), async () => (await effects(ids)).length === ids.length));
  const rows = await effects(ids);
  assert.equal(new Set(rows.map((r) => r.job_id)).size, 8, 'each note has its effect, once');
  assert.equal(new Set(rows.map((r) => r.txid)).size, 1, 'the eight in one transaction');
  const carrying = sent.filter((s) => ids.some((id) => s.text.includes(id)));
  assert.equal(carrying.length, 1, `the eight statements in one message (sent in ${carrying.length})`);
  assert.match(carrying[0].text, /^BEGIN; /, 'the transaction opens in that message');
  const onItsConnection = sent.filter((s) => s.client === carrying[0].client && !/^PREPARE /.test(s.text));
  const at = onItsConnection.indexOf(carrying[0]);
  assert.equal(onItsConnection[at + 1]?.text, 'COMMIT', 'then the COMMIT: two round trips');
});

test('a note refused in a batch fails alone: the others keep their effects once, it is retried and dead-lettered', async () => {
  const ids = Array.from({ length: 6 }, () => randomUUID());
  const bad = ids[3];
  const splits = await handledCount('worker.notes', 'batch', 'batch_split');
  const before = await svc.bus.queueDepth(dlq());
  await behindAHeldNote(
    ids.map((id) => [id, id === bad ? 'nobody' : 'alice']),
    async () => (await effects(ids)).length === ids.length - 1,
  );
  await eventually(async () => (await svc.bus.queueDepth(dlq())) === before + 1, 15000, 50, 'the refused note dead-lettered');
  const rows = await effects(ids);
  assert.deepEqual(rows.map((r) => r.job_id).sort(), ids.filter((i) => i !== bad).sort(), 'every other note has its effect, once; the refused one none');
  assert.ok((await handledCount('worker.notes', 'batch', 'batch_split')) > splits, 'the batch was split');
});
