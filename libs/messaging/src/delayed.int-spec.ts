import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startToyService, ToyService } from '../test/toy-rig';
import { Outbox, UnitOfWork } from './index';

/**
 * Delayed publishes on the real broker and database: a message written with
 * `delayMs` leaves that much later (the relay, woken for it), and one a later
 * transaction withdraws by id never leaves.
 */
let svc: ToyService;

before(async () => {
  svc = await startToyService({ label: 'delayed', queues: {}, watch: ['work.done.v1'] });
});

after(async () => {
  await svc?.cleanup();
});

const uow = () => svc.app.get(UnitOfWork);

test('a message published with a delay leaves once the delay has passed, not before', async () => {
  const jobId = randomUUID();
  const committedAt = Date.now();
  await uow().transaction(async (tx) => tx.publish('work.done.v1', { jobId, owner: 'alice' }, { delayMs: 400 }));
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === jobId);
  assert.ok(Date.now() - committedAt >= 380, `arrived ${Date.now() - committedAt} ms after its commit`);
});

// Guards: a withdrawn message leaving all the same (a PROCESSING event already carried by its order's final one, say).
test('a delayed message withdrawn before it is due never leaves; the withdrawal returns its envelope', async () => {
  const withdrawn = randomUUID();
  const kept = randomUUID();
  const id = randomUUID();
  await uow().transaction(async (tx) => tx.publish('work.done.v1', { jobId: withdrawn, owner: 'alice' }, { delayMs: 300, id }));
  const bodies = await uow().transaction(async (tx) => { const w = svc.app.get(Outbox).withdrawSql([id]); return tx.query<{ body: string }>(w.prepared, w.params); });
  assert.equal(bodies.length, 1);
  assert.equal((JSON.parse(bodies[0].body) as { payload: { jobId: string } }).payload.jobId, withdrawn);
  await uow().transaction(async (tx) => tx.publish('work.done.v1', { jobId: kept, owner: 'alice' }, { delayMs: 300 }));
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === kept); // due after the withdrawn one would have been
  await svc.bus.sync();
  assert.equal(svc.bus.messages('work.done.v1', (p) => p.jobId === withdrawn).length, 0, 'the withdrawn message never left');
});

test('withdrawing a message already sent takes back nothing', async () => {
  const jobId = randomUUID();
  const id = randomUUID();
  await uow().transaction(async (tx) => tx.publish('work.done.v1', { jobId, owner: 'alice' }, { delayMs: 50, id }));
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === jobId);
  const bodies = await uow().transaction(async (tx) => { const w = svc.app.get(Outbox).withdrawSql([id]); return tx.query<{ body: string }>(w.prepared, w.params); });
  assert.equal(bodies.length, 0);
});
