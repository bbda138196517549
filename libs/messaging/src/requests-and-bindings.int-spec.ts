import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { priceOf } from '../test/toy-consumers';
import type { ToyQueue, WorkStatusV1 } from '../test/toy-messages';
import { rawBroker, RawBroker, startToyService, ToyService } from '../test/toy-rig';
import { ConsumptionControl, Messaging } from './index';

/** Messaging.request (direct reply-to) and Messaging.setBinding (routes bound at run time). */
let svc: ToyService;
let broker: RawBroker;

before(async () => {
  svc = await startToyService({ label: 'requests', queues: { 'worker.quotes': 4, 'worker.audit': 1, 'worker.hooks': 1 } });
  broker = await rawBroker();
});

after(async () => {
  await broker?.close();
  await svc?.cleanup();
});

async function consumers(queue: ToyQueue): Promise<number> {
  const ch = await broker.conn.createChannel();
  try {
    return (await ch.checkQueue(svc.queue(queue))).consumerCount;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

// Guards: the answer is what the handler returned, sent only once its transaction committed.
test("Messaging.request gets the handler's return value, after its commit", async () => {
  const jobId = randomUUID();
  const items = [{ sku: 'SKU-1', quantity: 3 }, { sku: 'SKU-2', quantity: 2 }];
  const answer = await svc.app.get(Messaging).request('work.quote.v1', { jobId, items }, 5000);
  assert.deepEqual(answer, { jobId, price: priceOf(items) });
  // read at once on another connection: committed before the answer left
  assert.equal(await svc.effects(jobId, 'worker.quotes'), 1);
});

// Guards: a request nobody answers must not hang or throw, nor take its message with it.
test('with no consumer, Messaging.request resolves undefined after its timeout and the message stays queued (handled later all the same)', async () => {
  const messaging = svc.app.get(Messaging);
  // a message no service consumes
  const started = Date.now();
  assert.equal(await messaging.request('work.archived.v1', { jobId: randomUUID() }, 300), undefined);
  assert.ok(Date.now() - started >= 290, 'it waited its timeout'); // time itself is the subject here
  assert.equal(await svc.bus.queueDepth(svc.queue('ops.archive')), 1, 'the message stays queued');

  // a consumer that is away (paused): the request times out, the message waits and is answered to no one later
  const control = svc.app.get(ConsumptionControl);
  await control.pause('worker.quotes');
  await eventually(async () => (await consumers('worker.quotes')) === 0, 5000, 20, 'no consumer');
  const jobId = randomUUID();
  assert.equal(await messaging.request('work.quote.v1', { jobId, items: [{ sku: 'SKU-1', quantity: 1 }] }, 300), undefined);
  assert.equal(await svc.bus.queueDepth(svc.queue('worker.quotes')), 1);
  await control.resume('worker.quotes');
  await eventually(async () => (await svc.effects(jobId, 'worker.quotes')) === 1, 5000, 20, 'handled once consumed again');
});

// Guards: a `route: null` queue receives nothing but what the service binds at run time, and unbinding stops it.
test('Messaging.setBinding routes a routed message to a route: null queue; unbinding stops it', async () => {
  const messaging = svc.app.get(Messaging);
  const status = async (owner: string, s: WorkStatusV1['status']) => {
    const jobId = randomUUID();
    await svc.publish('work.status.v1', { jobId, owner, status: s });
    return jobId;
  };
  const handled = async (queue: ToyQueue, jobId: string) => (await svc.effects(jobId, queue)) === 1;
  const before = await status('alice', 'DONE');
  await eventually(() => handled('worker.audit', before), 5000, 20, 'the audit (route DONE.*) takes it');
  await messaging.setBinding('worker.hooks', 'work.status.v1', 'DONE.alice', true);
  const bound = await status('alice', 'DONE');
  const otherStatus = await status('alice', 'STARTED');
  await eventually(async () => (await handled('worker.hooks', bound)) && (await handled('worker.audit', bound)), 5000, 20, 'bound: the hooks take it too');
  await messaging.setBinding('worker.hooks', 'work.status.v1', 'DONE.alice', false);
  const unbound = await status('alice', 'DONE');
  await eventually(() => handled('worker.audit', unbound), 5000, 20, 'the audit takes it');
  // worker.hooks is consumed one message at a time, in order: once bob's (bound now) is handled, anything routed there before it was too
  await messaging.setBinding('worker.hooks', 'work.status.v1', 'DONE.bob', true);
  const marker = await status('bob', 'DONE');
  await eventually(() => handled('worker.hooks', marker), 5000, 20, "bob's status on the hooks");
  await messaging.setBinding('worker.hooks', 'work.status.v1', 'DONE.bob', false);
  for (const [jobId, what] of [[before, 'before the binding'], [otherStatus, 'another status'], [unbound, 'after the unbinding']]) {
    assert.equal(await svc.effects(jobId, 'worker.hooks'), 0, `not on the hooks: ${what}`);
  }
  assert.equal(await svc.effects(otherStatus, 'worker.audit'), 0, 'STARTED is not the audit\'s');
  assert.equal(await svc.bus.queueDepth(svc.queue('worker.hooks')), 0);
});
