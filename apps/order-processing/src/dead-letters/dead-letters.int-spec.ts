import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { ADMIN, placeOrder, Rig, startRig, statusOf } from '../testing/harness';

/** Operators inspect and replay dead letters; a replayed message is handled like a fresh one. */
let rig: Rig;

before(async () => {
  rig = await startRig('dlq');
});

after(async () => {
  await rig?.stop();
});

const admin = (path: string, method = 'GET') => fetch(`${rig.base}${path}`, { method, headers: { authorization: ADMIN.authorization } });

test('a message that keeps failing is dead-lettered, shown with its reason, and replayed once the cause is gone', async () => {
  // inventory answers for an order order-processing has never seen: retried, then parked.
  const orderId = randomUUID();
  const stray = await rig.inventory.reserved(orderId, 'demo', [{ sku: 'SKU-A', quantity: 1 }]);
  const summary = await eventually(async () => {
    const s = (await (await admin('/dead-letters')).json()) as { queues: Array<{ queue: string; messages: number }> };
    return s.queues.find((q) => q.queue === 'order-processing.saga' && q.messages === 1) ? s : undefined;
  }, 10000, 100, 'dead letter');
  assert.ok(summary.queues.some((q) => q.queue === 'inventory.commands'));

  const peek = (await (await admin('/dead-letters/order-processing.saga?limit=5')).json()) as {
    messages: Array<{ messageId: string; name: string; attempts: number; lastError: string; body: { payload: { orderId: string } } }>;
  };
  assert.equal(peek.messages.length, 1);
  assert.equal(peek.messages[0].messageId, stray.id);
  assert.equal(peek.messages[0].name, 'inventory.reserved.v1');
  assert.equal(peek.messages[0].attempts, 3);
  assert.match(peek.messages[0].lastError, /not known/);
  assert.equal(peek.messages[0].body.payload.orderId, orderId);
  // peeking leaves it there
  assert.equal(await rig.bus.queueDepth(`${rig.cfg.MQ_PREFIX}.order-processing.saga.dlq`), 1);

  // the order now exists (inventory's own answer is held back), so the replayed reservation completes it.
  rig.inventory.reserve.set(orderId, 'hold');
  await placeOrder(rig.bus, { orderId, items: [{ sku: 'SKU-A', quantity: 1 }] });
  await statusOf(rig.bus, orderId, 'PROCESSING');
  const replay = await admin('/dead-letters/order-processing.saga/replay', 'POST');
  assert.equal(replay.status, 200);
  assert.deepEqual(await replay.json(), { queue: 'order-processing.saga', replayed: 1 });
  const confirmed = await statusOf(rig.bus, orderId, 'CONFIRMED');
  assert.equal(confirmed.payload.totals?.totalCents, 1250);
  assert.equal(await rig.bus.queueDepth(`${rig.cfg.MQ_PREFIX}.order-processing.saga.dlq`), 0);
});

test('unknown queue is 404, bad limit 400, no token 401', async () => {
  assert.equal((await admin('/dead-letters/nope')).status, 404);
  assert.equal((await admin('/dead-letters/order-processing.saga?limit=0')).status, 400);
  assert.equal((await admin('/dead-letters/order-processing.saga?limit=abc')).status, 400);
  assert.equal((await fetch(`${rig.base}/dead-letters`)).status, 401);
  assert.equal((await fetch(`${rig.base}/dead-letters/order-processing.saga/replay`, { method: 'POST' })).status, 401);
});
