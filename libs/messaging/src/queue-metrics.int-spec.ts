import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, handledCount } from '@orders/testing';
import { register } from 'prom-client';
import { knobs } from '../test/toy-consumers';
import { startToyService, ToyService } from '../test/toy-rig';
import { ConsumptionControl, Messaging, UnitOfWork } from './index';

/**
 * What an operator reads on /metrics about deferred work, checked against the
 * real broker and database: queue depth, consumers, dead letters, queue lag
 * and the outbox backlog.
 */
const QUEUE = 'worker.jobs';
let svc: ToyService;
let openGate: () => void = () => undefined;

before(async () => {
  svc = await startToyService({ label: 'qmetrics', queues: { [QUEUE]: 1 }, retryDelaysMs: [100], brokerProxy: true, metricsCacheMs: 100 });
});

after(async () => {
  openGate();
  await svc?.cleanup();
});

/** One scrape: the value of a sample, or undefined when it is absent. */
async function scrape(metric: string, labels = ''): Promise<number | undefined> {
  const text = await register.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${metric}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
const q = `{queue="${QUEUE}"}`;

const publishRequests = (n: number) =>
  svc.app.get(UnitOfWork).transaction(async (tx) => {
    for (let i = 0; i < n; i++) tx.publish('work.requested.v1', { jobId: randomUUID(), owner: 'alice', items: [{ sku: 'SKU-1', quantity: 1 }] });
  });

test('a backlog shows in orders_queue_messages as the broker counts it, drains to 0, and its lag is measured', async () => {
  assert.equal(await scrape('orders_queue_consumers', q), 1, 'the consumer is attached');
  knobs.holdAll = new Promise((r) => (openGate = r));
  const waitBefore = (await scrape('orders_message_wait_seconds_count', q)) ?? 0;
  const acked = await handledCount(QUEUE, 'work.requested.v1');
  await publishRequests(30);
  // One message is in flight (prefetch 1), the other 29 wait in the queue.
  await eventually(async () => (await svc.bus.queueDepth(svc.queue(QUEUE))) === 29, 10000, 50, 'backlog in the broker');
  await eventually(async () => (await scrape('orders_queue_messages', q)) === 29, 5000, 50, 'backlog on /metrics');
  openGate();
  knobs.holdAll = undefined;
  await eventually(async () => (await handledCount(QUEUE, 'work.requested.v1')) === acked + 30, 10000, 20, 'backlog handled');
  await eventually(async () => (await scrape('orders_queue_messages', q)) === 0, 5000, 50, 'drained on /metrics');
  assert.equal(await svc.bus.queueDepth(svc.queue(QUEUE)), 0);
  assert.equal((await scrape('orders_message_wait_seconds_count', q))! - waitBefore, 30, 'every first delivery measured once');
  assert.ok((await scrape('orders_message_wait_seconds_sum', q))! > 0, 'the backlog waited');
});

test('a poisoned message shows in orders_dead_letter_messages', async () => {
  assert.equal(await scrape('orders_dead_letter_messages', q), 0);
  await svc.bus.publishRaw('work.requested.v1', Buffer.from('{"not":"an envelope"'));
  await eventually(async () => (await scrape('orders_dead_letter_messages', q)) === 1, 5000, 50, 'dead letter on /metrics');
  assert.equal(await svc.bus.queueDepth(svc.queue(QUEUE, 'dlq')), 1);
});

test('with the broker cut, the outbox backlog and its age grow on /metrics; after reconnect both return to 0 and the queue gauges come back', async () => {
  const messaging = svc.app.get(Messaging);
  assert.equal(await scrape('orders_outbox_pending'), 0);
  svc.brokerProxy!.refuse(true);
  svc.brokerProxy!.dropAll();
  await eventually(() => !messaging.isConnected, 5000, 20, 'disconnect noticed');
  await publishRequests(5);
  await publishRequests(7);
  await eventually(async () => (await scrape('orders_outbox_pending')) === 12, 5000, 50, 'outbox pending on /metrics');
  const age1 = (await scrape('orders_outbox_oldest_seconds'))!;
  await eventually(async () => (await scrape('orders_outbox_oldest_seconds'))! >= age1 + 0.5, 5000, 100, 'the oldest row ages');
  // The broker is away: its gauges are absent, and /metrics still answers.
  assert.equal(await scrape('orders_queue_messages', q), undefined);
  svc.brokerProxy!.refuse(false);
  await eventually(() => messaging.isConnected, 15000, 50, 'reconnect');
  await eventually(async () => (await scrape('orders_outbox_pending')) === 0, 10000, 50, 'outbox drained');
  assert.equal(await scrape('orders_outbox_oldest_seconds'), 0);
  await eventually(async () => (await scrape('orders_queue_consumers', q)) === 1, 10000, 50, 'queue gauges back after reconnect');
  await eventually(async () => (await scrape('orders_queue_messages', q)) === 0, 10000, 50, 'what the outbox held is consumed');
});

test('a consumer that stopped (paused by an operator) shows orders_queue_consumers 0 while messages pile up', async () => {
  await svc.app.get(ConsumptionControl).pause(QUEUE); // cancels the consumer; the service is otherwise up
  await eventually(async () => (await scrape('orders_queue_consumers', q)) === 0, 5000, 50, 'no consumer on /metrics');
  await publishRequests(3);
  await eventually(async () => (await scrape('orders_queue_messages', q)) === 3, 5000, 50, 'messages waiting without a consumer');
});
