import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { statementsSent } from '@orders/testing';
import { startToyService, ToyService } from '../test/toy-rig';
import { Messaging, UnitOfWork } from './index';

/**
 * Tx.later against the real database: a write sent with the transaction's
 * next round trip keeps its order, is seen by the step's later queries,
 * carries any value safely, and fails the whole transaction when it fails.
 */
let svc: ToyService;
let uow: UnitOfWork;

before(async () => {
  svc = await startToyService({ label: 'uow', queues: { 'worker.jobs': 1 }, watch: ['work.done.v1'] });
  uow = svc.app.get(UnitOfWork);
  await svc.sql('CREATE TABLE notes (id uuid PRIMARY KEY, body text NOT NULL, doc jsonb, n int NOT NULL DEFAULT 0 CHECK (n >= 0))');
});

after(async () => {
  await svc?.cleanup();
});

/** Statements sent to PostgreSQL (round trips) while `fn` runs. */
async function roundTrips(fn: () => Promise<unknown>): Promise<number> {
  return (await statementsSent(fn)).length;
}

const note = async (id: string) => (await svc.sql<{ body: string; doc: unknown; n: number }>('SELECT body, doc, n FROM notes WHERE id = $1', [id]))[0];

test('later writes keep their order, are seen by the next query of the step, and ride on round trips the step makes anyway', async () => {
  const id = randomUUID();
  let seen: number | undefined;
  const trips = await roundTrips(() => uow.transaction(async (tx) => {
    tx.later('INSERT INTO notes (id, body) VALUES ($1, $2)', [id, 'first']);
    tx.later('UPDATE notes SET n = n + 1, body = $2 WHERE id = $1', [id, 'second']);
    seen = (await tx.query<{ n: number }>('SELECT n FROM notes WHERE id = $1', [id]))[0]?.n;
    tx.later('UPDATE notes SET n = n * 10 WHERE id = $1', [id]);
  }));
  assert.equal(seen, 1, 'the read sees both writes before it, in order');
  assert.deepEqual(await note(id), { body: 'second', doc: null, n: 10 });
  assert.equal(trips, 3, 'BEGIN, the read (with the two writes before it), the COMMIT (with the last write): no round trip of their own');
});

test('later values of any kind are sent as literals that arrive unchanged', async () => {
  const id = randomUUID();
  const body = "it's a \\ 'quote'); DROP TABLE notes; -- \u00e9\u{1F600}";
  const doc = { a: "o'k", b: [1, null, 'x\ny'], c: { d: true } };
  await uow.transaction(async (tx) => {
    tx.later('INSERT INTO notes (id, body, doc) VALUES ($1, $2, $3::jsonb)', [id, body, JSON.stringify(doc)]);
  });
  assert.deepEqual(await note(id), { body, doc, n: 0 });
});

test('a later write that fails fails the transaction: none of its writes stay, nothing it published leaves', async () => {
  const id = randomUUID();
  const jobId = randomUUID();
  await assert.rejects(uow.transaction(async (tx) => {
    tx.later('INSERT INTO notes (id, body) VALUES ($1, $2)', [id, 'kept?']);
    tx.publish('work.done.v1', { jobId, owner: 'alice' });
    tx.later('UPDATE notes SET n = n - 1 WHERE id = $1', [id]); // violates the CHECK at the COMMIT's round trip
  }), /check constraint/);
  assert.equal(await note(id), undefined);
  await svc.app.get(Messaging).flush();
  await svc.bus.sync();
  assert.equal(svc.bus.messages('work.done.v1', (p) => p.jobId === jobId).length, 0);
});

test('in a batch, every step keeps its own later writes and the one COMMIT carries what is left', async () => {
  const [a, b] = [randomUUID(), randomUUID()];
  await uow.inBatch(async () => {
    await uow.transaction(async (tx) => {
      tx.later('INSERT INTO notes (id, body) VALUES ($1, $2)', [a, 'a']);
    });
    await uow.transaction(async (tx) => {
      const before = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM notes WHERE id = $1', [a]);
      tx.later('INSERT INTO notes (id, body, n) VALUES ($1, $2, $3)', [b, 'b', before[0].n]);
    });
  });
  assert.deepEqual(await note(a), { body: 'a', doc: null, n: 0 });
  assert.deepEqual(await note(b), { body: 'b', doc: null, n: 1 }, "the second step saw the first step's write");
});
