import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, TEST_RABBITMQ_URL, TestBus } from '@orders/testing';
import { TOY_BUS_CODEC } from '../test/toy-codec';
import type { ToyMessages } from '../test/toy-messages';
import { rawBroker, TEST_QUEUE_TYPE, toyEnvironment, ToyEnvironment } from '../test/toy-rig';
import { setPaused, Supervisor } from '../test/supervisor';

/**
 * Guards the fix for "innocent messages dead-lettered as poison when a process
 * dies mid-batch". The toy service runs as a separate process that dies (exit
 * code 1, inside the transaction) whenever it handles the poison job; the test
 * restarts it each time, as an orchestrator would. Every message delivered
 * with the poison one comes back unacknowledged with it, each time; only the
 * crashes a message caused while it ran alone may count against it. Before
 * the fix, a message was parked for how often it came back (quorum's
 * x-delivery-count; classic queues not at all, so the poison crashed the
 * service for ever), and the innocent neighbours queued behind the poison
 * came back as often as it did. Runs on classic and quorum queues
 * (TEST_QUEUE_TYPE).
 */
const POISON_CRASHES = 3; // the library's default (consumers.poisonCrashes)
let env: ToyEnvironment;
let bus: TestBus<ToyMessages>;
let supervisor: Supervisor | undefined;

before(async () => {
  env = await toyEnvironment('crashes');
  bus = await TestBus.connect<ToyMessages>(env.prefix, ['work.dead-lettered.v1'], TEST_RABBITMQ_URL, TOY_BUS_CODEC);
});

after(async () => {
  await supervisor?.stop();
  await bus?.cleanup();
  await env?.cleanup();
});

test('a process that dies mid-batch on a poison message: every innocent message is handled exactly once, only the poison one is dead-lettered (announced)', async () => {
  // consumption paused at first, so the whole batch is queued before the first run takes it
  await setPaused(env, 'worker.batch', true);
  supervisor = new Supervisor(env, { queues: { 'worker.batch': 8 }, maxBatch: 8, queueType: TEST_QUEUE_TYPE });
  supervisor.start();
  await eventually(() => supervisor!.ready >= 1, 30000, 50, 'the service up (its queues declared)');

  const jobs = ['alice', 'alice', 'poison', 'alice', 'alice'].map((owner) => ({ jobId: randomUUID(), owner }));
  const sent = [];
  for (const j of jobs) sent.push(await bus.publish('work.batched.v1', { ...j, items: [{ sku: 'SKU-1', quantity: 1 }] }));
  const poison = sent[2];
  const innocent = jobs.filter((j) => j.owner !== 'poison').map((j) => j.jobId);
  await setPaused(env, 'worker.batch', false);

  const dlq = env.queue('worker.batch', 'dlq');
  try {
    await eventually(async () => {
      const handled = await Promise.all(innocent.map((id) => env.effects(id, 'worker.batch')));
      return handled.every((n) => n === 1) && (await bus.queueDepth(dlq)) === 1;
    }, 60000, 100, 'the innocent messages handled and the poison one parked');
  } catch (e) {
    const crashes = await env.sql('SELECT * FROM delivery_crashes');
    const effects = await env.sql('SELECT queue, job_id FROM effects');
    throw new Error(`${(e as Error).message}; deaths ${JSON.stringify(supervisor.deaths)}, crashes ${JSON.stringify(crashes)}, effects ${JSON.stringify(effects)}\n--- toy service output ---\n${supervisor.output}`);
  }
  // its first death was in a batch (not counted: it did not run alone); then POISON_CRASHES counted ones
  assert.deepEqual(supervisor.deaths, Array(POISON_CRASHES + 1).fill(1), 'the process died on the poison message, and only as often as it takes');
  for (const id of innocent) assert.equal(await env.effects(id, 'worker.batch'), 1, `innocent ${id} handled exactly once`);
  assert.equal(await env.effects(poison.payload.jobId), 0, 'nothing of the poison message was committed');

  const broker = await rawBroker();
  try {
    const ch = await broker.conn.createChannel();
    const parked = await ch.get(dlq, { noAck: false });
    assert.ok(parked);
    assert.equal(parked.properties.messageId, poison.id);
    assert.match(String(parked.properties.headers?.['x-last-error']), new RegExp(`ended the process ${POISON_CRASHES} times`));
    assert.equal(parked.properties.headers?.['x-death'], undefined, 'parked by the library, not by the broker');
    await ch.close(); // unacked: it stays in the dead-letter queue until cleanup
  } finally {
    await broker.close();
  }
  await eventually(() => bus.messages('work.dead-lettered.v1').length >= 1, 5000, 20, 'the announcement');
  await bus.sync();
  assert.deepEqual(bus.messages('work.dead-lettered.v1').map((e) => e.payload.messageId), [poison.id], 'only the poison message announced');
  assert.deepEqual(await env.sql('SELECT message_id FROM delivery_crashes'), [], 'no crash count left behind');
});
