import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { eventually } from '@orders/testing';
import { JobsConsumer, Work } from '../test/toy-consumers';
import type { ToyEnvelope } from '../test/toy-messages';
import { rawBroker, startToyService, toyEnvironment } from '../test/toy-rig';
import { MessageContext, Messaging, OnMessage } from './index';

/** What a service refuses, and what it does not, when it starts. */

/** worker.jobs without a handler for work.cancelled.v1. */
@Controller()
class RequestsOnly {
  constructor(private readonly work: Work) {}
  @OnMessage('worker.jobs', 'work.requested.v1')
  requested(@Payload() env: ToyEnvelope<'work.requested.v1'>, @Ctx() ctx: MessageContext) {
    return this.work.handle('worker.jobs', env, ctx);
  }
}

/** A second handler for work.requested.v1 on worker.jobs (beside JobsConsumer's). */
@Controller()
class RequestsAgain {
  @OnMessage('worker.jobs', 'work.requested.v1')
  requested(@Payload() _env: ToyEnvelope<'work.requested.v1'>) {
    return undefined;
  }
}

/** Fails if the start neither succeeds nor fails within `ms` (a start that hangs). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the start neither succeeded nor failed within ${ms} ms`)), ms)));
  return Promise.race([p, hung]).finally(() => clearTimeout(timer));
}

// Guards: a message of an own queue that nothing handles would be dead-lettered (or left) at run time; the start must refuse it, naming it.
test('start-up refuses a message of an own queue with no handler: the app fails to start, naming it', async () => {
  await assert.rejects(
    within(startToyService({ label: 'nohandler', queues: { 'worker.jobs': 8 }, controllers: [RequestsOnly], logger: [] }), 30000),
    /no handler for work\.cancelled\.v1 on worker\.jobs/,
  );
});

// Guards: two handlers for one message on one queue (one of them would never run, or both would) must stop the start, naming it.
test('start-up refuses a message of an own queue with two handlers: the app fails to start, naming it', async () => {
  await assert.rejects(
    within(startToyService({ label: 'twohandlers', queues: { 'worker.jobs': 8 }, controllers: [JobsConsumer, RequestsAgain], logger: [] }), 30000),
    /two handlers for work\.requested\.v1 on worker\.jobs/,
  );
});

// Guards: the broker refuses to redeclare a queue with other arguments (406); a service that gave up over it would never be ready.
test('a queue that already exists with other arguments does not stop the service: it starts, is ready and consumes', async () => {
  const env = await toyEnvironment('existing');
  const broker = await rawBroker();
  const other = { 'x-queue-type': 'classic', 'x-max-priority': 5 }; // what an earlier version declared
  try {
    const ch = await broker.conn.createChannel();
    await ch.assertQueue(env.queue('worker.jobs'), { durable: true, arguments: other });
    await ch.close();
    const svc = await within(startToyService({ env, queues: { 'worker.jobs': 8 } }), 30000);
    try {
      const messaging = svc.app.get(Messaging);
      assert.equal(messaging.isConnected, true);
      await eventually(() => messaging.unconsumedQueues().length === 0, 5000, 20, 'every own queue consumed (ready)');
      const jobId = randomUUID();
      await svc.publish('work.requested.v1', { jobId, owner: 'alice', items: [{ sku: 'SKU-1', quantity: 1 }] });
      await svc.bus.waitFor('work.done.v1', (p) => p.jobId === jobId);
      assert.equal(await svc.effects(jobId, 'worker.jobs'), 1);
      // kept as it was: declaring it with the earlier arguments still succeeds
      const check = await broker.conn.createChannel();
      await check.assertQueue(env.queue('worker.jobs'), { durable: true, arguments: other });
      await check.close();
    } finally {
      await svc.cleanup();
    }
  } finally {
    await broker.close();
    await env.cleanup();
  }
});
