import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { startToyService, ToyService } from '../test/toy-rig';
import { Outbox, UnitOfWork } from './index';

/** PostgreSQL goes away (every connection cut, new ones refused) and comes back: writes and the relay resume on their own. */
let svc: ToyService;

before(async () => {
  // a service that only publishes; its pool and its LISTEN connections go through the proxy
  svc = await startToyService({ label: 'pgdrop', queues: {}, databaseProxy: 'all' });
});

after(async () => {
  await svc?.cleanup();
});

const publishDone = (jobId: string) => svc.app.get(UnitOfWork).transaction(async (tx) => tx.publish('work.done.v1', { jobId, owner: 'alice' }));

test('writes and the outbox relay resume after the database drops every connection and restarts', async () => {
  const first = randomUUID();
  await publishDone(first);
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === first);

  svc.databaseProxy!.refuse(true);
  svc.databaseProxy!.dropAll();
  await assert.rejects(publishDone(randomUUID()), 'a write while the database is down fails (and is not reported as done)');
  svc.databaseProxy!.refuse(false);

  const second = randomUUID();
  await eventually(async () => {
    await publishDone(second);
    return true;
  }, 15000, 200, 'a write after the database is back');
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === second, 5000);

  // a row left to the relay (as one written while the broker was away), and the NOTIFY of its commit:
  // published promptly, so the relay's LISTEN connection came back, not just its 10 s safety sweep
  const third = randomUUID();
  const outbox = svc.app.get(Outbox);
  const row = outbox.row('work.done.v1', { jobId: third, owner: 'alice' });
  await svc.sql(
    `WITH ins AS (INSERT INTO outbox (id, routing_key, body) VALUES ($1, $2, $3) RETURNING 1) SELECT pg_notify($4, '') FROM (SELECT count(*) FROM ins) c`,
    [row.id, row.routingKey, row.raw, outbox.channel],
  );
  await svc.bus.waitFor('work.done.v1', (p) => p.jobId === third, 8000);
});
