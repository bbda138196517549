import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, handledCount } from '@orders/testing';
import { TOY_CODEC } from '../test/toy-codec';
import { rawBroker, RawBroker, startToyService, ToyService } from '../test/toy-rig';
import { DeadLetters } from './index';

/**
 * Messages found where they are no longer consumed. The toy topology's
 * earlier version consumed work.done.v1 on worker.jobs (topology.retired);
 * now worker.ledger and worker.mailer do.
 */
let svc: ToyService;
let broker: RawBroker;

before(async () => {
  svc = await startToyService({ label: 'reroute', queues: { 'worker.jobs': 8, 'worker.ledger': 8, 'worker.mailer': 8 } });
  broker = await rawBroker();
});

after(async () => {
  await broker?.close();
  await svc?.cleanup();
});

const envelope = (name: 'work.done.v1' | 'work.requested.v1', jobId: string) =>
  TOY_CODEC.create(name, name === 'work.done.v1' ? { jobId, owner: 'alice' } : { jobId, owner: 'alice', items: [{ sku: 'SKU-1', quantity: 1 }] }, {});

// Guards: such a message used to be dead-lettered for want of a handler on the queue it sat in.
test('a message a queue no longer consumes (its binding retired) is moved to the queues that consume it now and handled there, never dead-lettered', async () => {
  const jobId = randomUUID();
  const env = envelope('work.done.v1', jobId);
  const rerouted = await handledCount('worker.jobs', 'work.done.v1', 'rerouted');
  // what the earlier version's binding left in worker.jobs: the message under its own routing key, in that queue alone
  const ch = await broker.conn.createConfirmChannel();
  const earlier = `${svc.prefix}.earlier`;
  try {
    await ch.assertExchange(earlier, 'direct', { durable: false, autoDelete: false });
    await ch.bindQueue(svc.queue('worker.jobs'), earlier, 'work.done.v1');
    ch.publish(earlier, 'work.done.v1', Buffer.from(JSON.stringify(env)), { persistent: true, messageId: env.id, type: env.name, contentType: 'application/json' });
    await ch.waitForConfirms();
  } finally {
    await ch.deleteExchange(earlier).catch(() => undefined);
    await ch.close().catch(() => undefined);
  }
  await eventually(async () => (await svc.effects(jobId, 'worker.ledger')) === 1 && (await svc.effects(jobId, 'worker.mailer')) === 1, 10000, 20, 'handled where it is consumed now');
  assert.equal(await svc.effects(jobId, 'worker.jobs'), 0);
  assert.equal(await handledCount('worker.jobs', 'work.done.v1', 'rerouted'), rerouted + 1);
  assert.equal(await svc.bus.queueDepth(svc.queue('worker.jobs', 'dlq')), 0, 'never dead-lettered');
  await svc.bus.sync();
  assert.equal(svc.bus.messages('work.dead-lettered.v1', (p) => p.messageId === env.id).length, 0, 'nor announced');
});

// Guards: a replay used to put a dead letter back in its old queue, which no longer consumes it (dead-lettered again there).
test('a dead letter replayed with DeadLetters.replay goes to where its message is consumed now', async () => {
  const moved = randomUUID();
  const stays = randomUUID();
  const dlq = svc.queue('worker.jobs', 'dlq');
  const ch = await broker.conn.createConfirmChannel();
  try {
    // dead letters an earlier version parked on worker.jobs: one of a message it no longer consumes, one it still does
    for (const [name, jobId] of [['work.done.v1', moved], ['work.requested.v1', stays]] as const) {
      const env = envelope(name, jobId);
      ch.sendToQueue(dlq, Buffer.from(JSON.stringify(env)), {
        persistent: true, messageId: env.id, type: name, contentType: 'application/json',
        headers: { 'x-original-routing-key': name, 'x-original-queue': 'worker.jobs', 'x-attempts': 3, 'x-dead-lettered-at': new Date().toISOString(), 'x-last-error': 'Error: then' },
      });
    }
    await ch.waitForConfirms();
  } finally {
    await ch.close().catch(() => undefined);
  }
  assert.deepEqual(await svc.app.get(DeadLetters).replay('worker.jobs', 10), { queue: 'worker.jobs', replayed: 2 });
  await eventually(async () => (await svc.effects(moved, 'worker.ledger')) === 1 && (await svc.effects(moved, 'worker.mailer')) === 1, 10000, 20, 'the moved one handled on the queues that consume it now');
  await eventually(async () => (await svc.effects(stays, 'worker.jobs')) === 1, 10000, 20, 'the other one handled on its own queue again');
  assert.equal(await svc.effects(moved, 'worker.jobs'), 0);
  assert.equal(await svc.bus.queueDepth(dlq), 0, 'neither dead-lettered again');
});
