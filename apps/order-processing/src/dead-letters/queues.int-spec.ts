import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@orders/testing';
import { ADMIN, placeOrder, Rig, startRig, statusOf } from '../../test/harness';

/** An operator pauses consumption of a queue (its messages wait, the service stays ready) and resumes it. */
let rig: Rig;

before(async () => {
  rig = await startRig('pause');
});

after(async () => {
  await rig?.stop();
});

const admin = (path: string, method = 'GET') => fetch(`${rig.base}${path}`, { method, headers: { authorization: ADMIN.authorization } });
async function scrape(metric: string, labels = ''): Promise<number | undefined> {
  const text = await (await fetch(`${rig.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${metric}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
const PLACED = '{queue="order-processing.placed"}';

test('a paused queue keeps its messages and the service stays ready; resumed, they are handled', async () => {
  const paused = await admin('/queues/order-processing.placed/pause', 'POST');
  assert.equal(paused.status, 200);
  assert.deepEqual(await paused.json(), { queue: 'order-processing.placed', paused: true });
  await eventually(async () => (await scrape('orders_queue_consumers', PLACED)) === 0, 5000, 50, 'consumer gone');

  const { orderId } = await placeOrder(rig.bus);
  // the placement waits, ready, in a queue without a consumer: nothing can have started the order
  await eventually(async () => (await scrape('orders_queue_messages', PLACED)) === 1, 5000, 50, 'the order waits in its queue');
  await rig.bus.sync();
  assert.equal(rig.bus.messages('inventory.reserve.v1', (p) => p.orderId === orderId).length, 0, 'not started while paused');
  assert.equal((await fetch(`${rig.base}/health/ready`)).status, 200, 'a paused queue is not a missing consumer');
  const list = (await (await admin('/queues')).json()) as { queues: Array<{ queue: string; paused: boolean }> };
  assert.deepEqual(list.queues.filter((q) => q.paused).map((q) => q.queue), ['order-processing.placed']);

  const resumed = await admin('/queues/order-processing.placed/resume', 'POST');
  assert.deepEqual(await resumed.json(), { queue: 'order-processing.placed', paused: false });
  await statusOf(rig.bus, orderId, 'CONFIRMED');
  await eventually(async () => (await scrape('orders_queue_consumers', PLACED)) === 1, 5000, 50, 'consumer back');
});

test('only the service\'s own queues can be paused, and only with the admin token', async () => {
  assert.equal((await admin('/queues/inventory.commands/pause', 'POST')).status, 404);
  assert.equal((await fetch(`${rig.base}/queues/order-processing.saga/pause`, { method: 'POST' })).status, 401);
});
