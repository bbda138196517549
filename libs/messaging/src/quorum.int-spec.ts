import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, TEST_RABBITMQ_URL, TestBus } from '@orders/testing';
import type { Channel } from 'amqplib';
import { TOY_BUS_CODEC } from '../test/toy-codec';
import type { ToyMessages } from '../test/toy-messages';
import { rawBroker, RawBroker, toyEnvironment, ToyEnvironment } from '../test/toy-rig';
import { Supervisor } from '../test/supervisor';
import { QUORUM_DELIVERY_LIMIT } from './topology';

/**
 * QUEUE_TYPE=quorum (whatever TEST_QUEUE_TYPE says): the queues are declared
 * quorum, with a broker-side delivery limit far above anything the library
 * lets happen, so a message whose handling keeps ending its process is
 * parked by the library (counted, announced, with its reason) and never
 * dropped or dead-lettered silently by the broker.
 */
const POISON_CRASHES = 3;
let env: ToyEnvironment;
let bus: TestBus<ToyMessages>;
let supervisor: Supervisor | undefined;
let broker: RawBroker;

before(async () => {
  env = await toyEnvironment('quorum');
  bus = await TestBus.connect<ToyMessages>(env.prefix, ['work.dead-lettered.v1'], TEST_RABBITMQ_URL, TOY_BUS_CODEC);
  broker = await rawBroker();
});

after(async () => {
  await supervisor?.stop();
  await broker?.close();
  await bus?.cleanup();
  await env?.cleanup();
});

/** Whether declaring the queue with these arguments succeeds (the broker refuses other arguments than a queue has: 406). */
async function declares(name: string, args: Record<string, unknown>): Promise<boolean> {
  const ch: Channel = await broker.conn.createChannel();
  ch.on('error', () => undefined);
  try {
    await ch.assertQueue(name, { durable: true, arguments: args });
    return true;
  } catch (e) {
    if ((e as { code?: number }).code === 406) return false;
    throw e;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

test('quorum queues: a message whose handling keeps ending its process is parked by the library, not by the broker', async () => {
  supervisor = new Supervisor(env, { queues: { 'worker.jobs': 1 }, queueType: 'quorum' });
  supervisor.start();
  await eventually(() => supervisor!.ready >= 1, 30000, 50, 'the service up (its queues declared)');
  const q = env.queue('worker.jobs');
  const dlq = env.queue('worker.jobs', 'dlq');
  assert.equal(await declares(q, { 'x-queue-type': 'classic' }), false, 'not a classic queue');
  assert.equal(
    await declares(q, { 'x-queue-type': 'quorum', 'x-delivery-limit': QUORUM_DELIVERY_LIMIT, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq }),
    true,
    'a quorum queue whose broker-side delivery limit is the library\'s',
  );
  assert.ok(QUORUM_DELIVERY_LIMIT > 100 * POISON_CRASHES, 'the broker would give up far later than the library');

  const poison = await bus.publish('work.requested.v1', { jobId: randomUUID(), owner: 'poison', items: [{ sku: 'SKU-1', quantity: 1 }] });
  try {
    await eventually(async () => (await bus.queueDepth(dlq)) === 1, 60000, 100, 'the poison message parked');
  } catch (e) {
    throw new Error(`${(e as Error).message}; deaths ${JSON.stringify(supervisor.deaths)}\n--- toy service output ---\n${supervisor.output}`);
  }
  // alone from the start (prefetch 1, not batched), yet its first run is not counted: it had not come back yet
  assert.deepEqual(supervisor.deaths, Array(POISON_CRASHES + 1).fill(1));
  const ch = await broker.conn.createChannel();
  const parked = await ch.get(dlq, { noAck: false });
  assert.ok(parked);
  assert.equal(parked.properties.messageId, poison.id);
  assert.match(String(parked.properties.headers?.['x-last-error']), new RegExp(`ended the process ${POISON_CRASHES} times`));
  assert.equal(parked.properties.headers?.['x-death'], undefined, 'not dead-lettered by the broker');
  await ch.close(); // unacked: it stays until cleanup
  const note = await bus.waitFor('work.dead-lettered.v1', (p) => p.messageId === poison.id, 5000);
  assert.equal(note.payload.queue, 'worker.jobs');
  assert.equal(await bus.queueDepth(q), 0);
});
