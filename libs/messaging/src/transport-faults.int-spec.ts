import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { knobs } from '../test/toy-consumers';
import { rawBroker, RawBroker, startToyService, ToyService } from '../test/toy-rig';
import type { ToyQueue } from '../test/toy-messages';
import { Messaging } from './index';

/**
 * The transport off the designed path, against the real broker and a
 * database reached through a TCP proxy that can refuse connections: two
 * queues carrying one message, a consumer the broker cancels, a database
 * blip. Outages: database-outage.int-spec.ts.
 *
 * No longer here: "a retried message keeps its AMQP priority" (the library
 * has no priorities any more), and the quorum-only "dead-lettered after
 * x-delivery-count returns" (a message's crashes are counted by the library
 * now, on both queue types: crash-counting.int-spec.ts). Dead-letter
 * announcements: dead-letter-announcements.int-spec.ts.
 */
let svc: ToyService;
let broker: RawBroker;

before(async () => {
  svc = await startToyService({ label: 'faults', queues: { 'worker.ledger': 8, 'worker.mailer': 8, 'worker.jobs': 1 }, databaseProxy: 'pool' });
  broker = await rawBroker();
});

after(async () => {
  await broker?.close();
  await svc?.cleanup();
});

const done = (jobId: string) => svc.publish('work.done.v1', { jobId, owner: 'alice' });

async function consumers(queue: ToyQueue): Promise<number> {
  const ch = await broker.conn.createChannel();
  try {
    return (await ch.checkQueue(svc.queue(queue))).consumerCount;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

test('two queues bound to one message each have their own consumer, and fail, retry and ack independently', async () => {
  assert.equal(await consumers('worker.ledger'), 1);
  assert.equal(await consumers('worker.mailer'), 1);
  const ok = randomUUID();
  const refused = randomUUID();
  knobs.failures.set(`worker.mailer:${refused}`, 99);
  await done(ok);
  await done(refused);
  await eventually(
    async () => (await svc.effects(refused, 'worker.ledger')) === 1 && (await svc.effects(ok, 'worker.mailer')) === 1 && (await svc.effects(ok, 'worker.ledger')) === 1,
    5000, 20, 'both handlers ran',
  );
  // the failing mail is dead-lettered on its own queue; the ledger's copy of the same message was handled once
  await eventually(async () => (await svc.bus.queueDepth(svc.queue('worker.mailer', 'dlq'))) === 1, 5000, 50, 'mail dead-lettered');
  assert.deepEqual(knobs.seen.get(refused)?.filter((s) => s.queue === 'worker.mailer').map((s) => s.attempt), [1, 2, 3]);
  assert.equal(await svc.effects(refused, 'worker.mailer'), 0);
  assert.equal(await svc.effects(refused, 'worker.ledger'), 1);
  assert.equal(await svc.bus.queueDepth(svc.queue('worker.ledger')), 0, 'the ledger queue is consumed');
  assert.equal(await svc.bus.queueDepth(svc.queue('worker.ledger', 'dlq')), 0);
});

test('a consumer the broker cancels (its queue deleted) is reopened; meanwhile the service is not ready', async () => {
  const messaging = svc.app.get(Messaging);
  assert.deepEqual(messaging.unconsumedQueues(), []);
  const ch = await broker.conn.createChannel();
  await ch.deleteQueue(svc.queue('worker.ledger'));
  await ch.close();
  await eventually(() => messaging.unconsumedQueues().includes('worker.ledger'), 5000, 10, 'not ready without a consumer');
  await eventually(async () => messaging.unconsumedQueues().length === 0 && (await consumers('worker.ledger').catch(() => 0)) === 1, 15000, 50, 'consumer back');
  const jobId = randomUUID();
  await done(jobId);
  await eventually(async () => (await svc.effects(jobId, 'worker.ledger')) === 1, 5000, 20, 'delivered after the reopen');
});

test('a message a database blip fails is handled again in place and keeps its turn: what was queued behind it does not overtake it', async () => {
  const first = randomUUID();
  const second = randomUUID();
  knobs.blips.set(first, 2);
  for (const jobId of [first, second]) await svc.publish('work.requested.v1', { jobId, owner: 'alice', items: [{ sku: 'SKU-1', quantity: 1 }] });
  await eventually(() => knobs.done.get('worker.jobs')?.includes(second), 5000, 20, 'both handled');
  assert.deepEqual(knobs.done.get('worker.jobs')?.filter((j) => j === first || j === second), [first, second]);
  const runs = (jobId: string) => knobs.seen.get(jobId)?.filter((s) => s.queue === 'worker.jobs').map((s) => s.deferrals);
  assert.deepEqual(runs(first), [0, 0, 0], 'three runs in place, never deferred');
  assert.deepEqual(runs(second), [0]);
});
