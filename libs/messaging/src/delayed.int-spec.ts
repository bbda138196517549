import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { statementsSent } from '@orders/testing';
import { startToyService, ToyService } from '../test/toy-rig';
import { Messaging, Outbox, UnitOfWork } from './index';

/**
 * Delayed publishes on the real broker and database: a message written with
 * `delayMs` leaves that much later (the relay, woken for it), and one a later
 * transaction withdraws by id never leaves.
 */
let svc: ToyService;

before(async () => {
  // no sweep during the tests: every drain of the relay is one a delayed message woke
  svc = await startToyService({ label: 'delayed', queues: {}, watch: ['work.done.v1'], relaySweepMs: 600_000 });
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

/** The relay's round trips while `fn` runs: each drain (the DELETE of due rows), its BEGIN and its COMMIT, wherever they travel. */
async function relayRoundTrips(fn: () => Promise<unknown>): Promise<{ drains: number; roundTrips: number }> {
  const calls = await statementsSent(fn);
  let drains = 0;
  let roundTrips = 0;
  for (const c of calls) {
    if (!/DELETE FROM outbox WHERE seq IN/.test(c.text)) continue;
    drains++;
    roundTrips++;
    const onItsConnection = calls.filter((o) => o.client === c.client);
    const k = onItsConnection.indexOf(c);
    if (onItsConnection[k - 1]?.text.trim() === 'BEGIN') roundTrips++;
    if (onItsConnection[k + 1]?.text.trim() === 'COMMIT') roundTrips++;
  }
  return { drains, roundTrips };
}

// Guards: a flood's PROCESSING events, nearly all taken back by their orders' final ones, each still waking the
// relay of its process for a drain that finds nothing (three round trips each, a third of order-processing's).
test('a delayed message withdrawn before it is due costs the relay nothing; one that leaves costs it two round trips', async () => {
  const withdrawn = randomUUID();
  const kept = randomUUID();
  const id = randomUUID();
  const outbox = svc.app.get(Outbox);
  const { drains, roundTrips } = await relayRoundTrips(async () => {
    await uow().transaction(async (tx) => tx.publish('work.done.v1', { jobId: withdrawn, owner: 'alice' }, { delayMs: 200, id }));
    await uow().transaction(async (tx) => {
      const w = outbox.withdrawSql([id]);
      await tx.query(w.prepared, w.params);
    });
    // due well after the withdrawn one would have been (another 50 ms slot of the relay's timers)
    await uow().transaction(async (tx) => tx.publish('work.done.v1', { jobId: kept, owner: 'alice' }, { delayMs: 500 }));
    await svc.bus.waitFor('work.done.v1', (p) => p.jobId === kept);
    await svc.app.get(Messaging).flush();
  });
  assert.equal(drains, 1, 'the relay woke for the message that left, not for the withdrawn one');
  assert.equal(roundTrips, 2, 'its BEGIN travels with the DELETE of the due rows; then the COMMIT');
});
