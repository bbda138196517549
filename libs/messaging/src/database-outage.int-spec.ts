import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, handledCount } from '@orders/testing';
import { RETRIES, startToyService, toyEnvironment, ToyEnvironment, ToyService } from '../test/toy-rig';

/**
 * A database outage longer than the in-place retries, against the real
 * broker and a database reached through a TCP proxy that refuses
 * connections. Deliveries wait in place for the database (the prefetch
 * holds back the rest) and run the moment it answers again, however long
 * the defer tiers; past the wait allowed they are deferred, never
 * dead-lettered.
 */
let env: ToyEnvironment;
let patient: ToyService;
let brief: ToyService;

before(async () => {
  env = await toyEnvironment('dboutage');
  // Defer tiers far longer than the outage: a message deferred would come back only after 60 s.
  patient = await startToyService({ env, queues: { 'worker.ledger': 4 }, databaseProxy: 'pool', deferDelaysMs: [60_000] });
  brief = await startToyService({ env, queues: { 'worker.mailer': 4 }, databaseProxy: 'pool', databaseWaitMaxMs: 200, deferDelaysMs: [100, 200] });
});

after(async () => {
  await brief?.cleanup();
  await patient?.cleanup();
  await env?.cleanup();
});

const done = (svc: ToyService, jobId: string) => svc.publish('work.done.v1', { jobId, owner: 'alice' });

test('a database outage: deliveries wait for the database and run as soon as it is back, none deferred or dead-lettered', async () => {
  const ids = Array.from({ length: 10 }, () => randomUUID());
  const dlq = env.queue('worker.ledger', 'dlq');
  const deferred = await handledCount('worker.ledger', 'work.done.v1', 'defer');
  const waits = await handledCount('worker.ledger', 'work.done.v1', 'wait_for_database');
  patient.databaseProxy!.refuse(true);
  patient.databaseProxy!.dropAll();
  try {
    for (const id of ids) await done(patient, id);
    // past the in-place retries (1.5 s): the deliveries in hand are waiting for the database
    await eventually(async () => (await handledCount('worker.ledger', 'work.done.v1', 'wait_for_database')) > waits, 15000, 50, 'waiting for the database');
    assert.equal(await patient.bus.queueDepth(env.queue('worker.ledger')) > 0, true, 'the rest waits in the queue (prefetch 4)');
  } finally {
    patient.databaseProxy!.refuse(false);
  }
  const back = Date.now();
  for (const id of ids) await eventually(async () => (await env.effects(id, 'worker.ledger')) === 1, 10_000, 20, `handled ${id} after the outage`);
  assert.ok(Date.now() - back < 10_000, 'every delivery handled within seconds of the database coming back, not after a defer tier');
  assert.equal(await handledCount('worker.ledger', 'work.done.v1', 'defer'), deferred, 'none deferred');
  assert.equal(await patient.bus.queueDepth(dlq), 0, 'none dead-lettered');
});

test('an outage longer than the wait allowed defers messages (no attempt used up) instead of dead-lettering them', async () => {
  const ids = Array.from({ length: 5 }, () => randomUUID());
  const dlq = env.queue('worker.mailer', 'dlq');
  brief.databaseProxy!.refuse(true);
  brief.databaseProxy!.dropAll();
  const deferred = await handledCount('worker.mailer', 'work.done.v1', 'defer');
  try {
    for (const id of ids) await done(brief, id);
    // as many deferrals as RETRIES allows attempts: a transport that counted the outage as failed attempts would have dead-lettered them by now
    const attempts = RETRIES.length + 1;
    await eventually(async () => (await handledCount('worker.mailer', 'work.done.v1', 'defer')) >= deferred + ids.length * attempts, 30_000, 50, `${attempts} deferrals each`);
    assert.equal(await brief.bus.queueDepth(dlq), 0, 'nothing dead-lettered during the outage');
  } finally {
    brief.databaseProxy!.refuse(false);
  }
  for (const id of ids) await eventually(async () => (await env.effects(id, 'worker.mailer')) === 1, 15_000, 50, `handled ${id} after the outage`);
  assert.equal(await brief.bus.queueDepth(dlq), 0);
});
