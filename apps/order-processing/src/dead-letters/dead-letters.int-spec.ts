import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as amqp from 'amqplib';
import { eventually, TEST_RABBITMQ_URL } from '@orders/testing';
import { ADMIN, placeOrder, Rig, startRig, statusOf } from '../../test/harness';

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
  assert.ok(!summary.queues.some((q) => q.queue === 'inventory.commands'), "another service's queues are that service's to show");

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

/** Runs the operators' CLI (libs/platform's dlq-cli, as this service's `npx nx dlq:* order-processing` does) against this test's broker prefix. */
async function cli(...args: string[]): Promise<unknown> {
  const script = join(__dirname, '..', '..', '..', '..', '..', 'libs', 'platform', 'dist', 'dlq-cli.js');
  const { stdout } = await promisify(execFile)(process.execPath, [script, 'order-processing', ...args], {
    env: { ...process.env, RABBITMQ_URL: rig.cfg.RABBITMQ_URL, MQ_PREFIX: rig.cfg.MQ_PREFIX },
  });
  return JSON.parse(stdout);
}

test('one dead letter is replayed by message id (HTTP, then the CLI); the others stay parked', async () => {
  const dlq = `${rig.cfg.MQ_PREFIX}.order-processing.saga.dlq`;
  const [a, b] = [randomUUID(), randomUUID()];
  const strayA = await rig.inventory.reserved(a, 'demo', [{ sku: 'SKU-A', quantity: 1 }]);
  const strayB = await rig.inventory.reserved(b, 'demo', [{ sku: 'SKU-B', quantity: 1 }]);
  await eventually(async () => (await rig.bus.queueDepth(dlq)) === 2, 10000, 100, 'two dead letters');
  for (const orderId of [a, b]) {
    rig.inventory.reserve.set(orderId, 'hold');
    await placeOrder(rig.bus, { orderId, items: [{ sku: orderId === a ? 'SKU-A' : 'SKU-B', quantity: 1 }] });
    await statusOf(rig.bus, orderId, 'PROCESSING');
  }

  assert.equal((await admin(`/dead-letters/order-processing.saga/replay?id=${randomUUID()}`, 'POST')).status, 404, 'unknown message id');
  assert.equal((await admin('/dead-letters/order-processing.saga/replay?id=', 'POST')).status, 400);
  const one = await admin(`/dead-letters/order-processing.saga/replay?id=${strayB.id}`, 'POST');
  assert.equal(one.status, 200);
  assert.deepEqual(await one.json(), { queue: 'order-processing.saga', replayed: 1, messageId: strayB.id });
  assert.equal((await statusOf(rig.bus, b, 'CONFIRMED')).payload.totals?.totalCents, 990);
  assert.equal(await rig.bus.queueDepth(dlq), 1, 'the other one stays');
  assert.equal(rig.bus.messages('order.status-changed.v1', (p) => p.orderId === a && p.status === 'CONFIRMED').length, 0);

  const listed = (await cli('list', '--queue', 'order-processing.saga')) as { messages: Array<{ messageId: string; attempts: number }> };
  assert.deepEqual(listed.messages.map((m) => [m.messageId, m.attempts]), [[strayA.id, 3]]);
  assert.deepEqual(await cli('replay', '--queue', 'order-processing.saga', '--id', strayA.id), { queue: 'order-processing.saga', replayed: 1, messageId: strayA.id });
  await statusOf(rig.bus, a, 'CONFIRMED');
  assert.equal(await rig.bus.queueDepth(dlq), 0);
  const summary = (await cli('list')) as { queues: Array<{ queue: string; messages: number }> };
  assert.equal(summary.queues.find((q) => q.queue === 'order-processing.saga')?.messages, 0);
});

test('dead letters are shown one by one and discarded (one by HTTP, the rest by the CLI); another service\'s queue is not this one\'s to touch', async () => {
  const dlq = `${rig.cfg.MQ_PREFIX}.order-processing.placed.dlq`;
  const ids = [randomUUID(), randomUUID(), randomUUID()];
  const conn = await amqp.connect(TEST_RABBITMQ_URL);
  try {
    const ch = await conn.createConfirmChannel();
    for (const id of ids) {
      const body = { id, name: 'order.placed.v1', occurredAt: new Date().toISOString(), payload: { orderId: randomUUID() } };
      ch.sendToQueue(dlq, Buffer.from(JSON.stringify(body)), { messageId: id, persistent: true, headers: { 'x-last-error': `broken ${id}`, 'x-attempts': 4 } });
    }
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
  const [x, y] = ids;

  const shown = await admin(`/dead-letters/order-processing.placed/${y}`);
  assert.equal(shown.status, 200);
  const one = (await shown.json()) as { queue: string; message: { messageId: string; lastError: string; attempts: number; name: string } };
  assert.deepEqual([one.queue, one.message.messageId, one.message.lastError, one.message.attempts, one.message.name], ['order-processing.placed', y, `broken ${y}`, 4, 'order.placed.v1']);
  assert.equal((await admin(`/dead-letters/order-processing.placed/${randomUUID()}`)).status, 404);
  assert.equal(await rig.bus.queueDepth(dlq), 3, 'showing takes nothing');
  assert.equal((await admin('/dead-letters/inventory.commands')).status, 404, "inventory's dead letters are inventory's");

  const dropped = await admin(`/dead-letters/order-processing.placed/discard?id=${y}`, 'POST');
  assert.equal(dropped.status, 200);
  assert.deepEqual(await dropped.json(), { queue: 'order-processing.placed', discarded: 1, messageId: y });
  const left = (await cli('list', '--queue', 'order-processing.placed')) as { messages: Array<{ messageId: string }> };
  assert.deepEqual(left.messages.map((m) => m.messageId), [x, ids[2]], 'the others stay, in order');

  assert.equal(((await cli('show', '--queue', 'order-processing.placed', '--id', x)) as { message: { messageId: string } }).message.messageId, x);
  await assert.rejects(cli('discard', '--queue', 'order-processing.placed'), (e: { code?: number; stderr?: string }) => e.code === 2 && /--id or --all/.test(e.stderr ?? ''));
  assert.deepEqual(await cli('discard', '--queue', 'order-processing.placed', '--all'), { queue: 'order-processing.placed', discarded: 2 });
  assert.equal(await rig.bus.queueDepth(dlq), 0);
});

test('upgrades lose nothing: a cancel the previous version left in a queue that no longer takes cancels is moved to where cancels go, and one parked there is replayed to it', async () => {
  const conn = await amqp.connect(TEST_RABBITMQ_URL);
  const ch = await conn.createConfirmChannel();
  const envelope = (orderId: string) => ({ id: randomUUID(), name: 'order.cancel-requested.v1', occurredAt: new Date().toISOString(), payload: { orderId, tenantId: 'demo', requestedAt: new Date().toISOString() } });
  try {
    // left in the saga queue by a version that consumed cancels there
    const leftover = randomUUID();
    rig.inventory.reserve.set(leftover, 'hold');
    await placeOrder(rig.bus, { orderId: leftover });
    await statusOf(rig.bus, leftover, 'PROCESSING');
    ch.sendToQueue(`${rig.cfg.MQ_PREFIX}.order-processing.saga`, Buffer.from(JSON.stringify(envelope(leftover))), { persistent: true, type: 'order.cancel-requested.v1' });
    await ch.waitForConfirms();
    await statusOf(rig.bus, leftover, 'CANCELLED');

    // dead-lettered there (the previous version's "no handler"): replay sends it where cancels are consumed now
    const parked = randomUUID();
    rig.inventory.reserve.set(parked, 'hold');
    await placeOrder(rig.bus, { orderId: parked });
    await statusOf(rig.bus, parked, 'PROCESSING');
    ch.sendToQueue(`${rig.cfg.MQ_PREFIX}.order-processing.saga.dlq`, Buffer.from(JSON.stringify(envelope(parked))), {
      persistent: true, type: 'order.cancel-requested.v1', headers: { 'x-original-routing-key': 'order.cancel-requested.v1', 'x-attempts': 1 },
    });
    await ch.waitForConfirms();
    assert.deepEqual(await (await admin('/dead-letters/order-processing.saga/replay', 'POST')).json(), { queue: 'order-processing.saga', replayed: 1 });
    await statusOf(rig.bus, parked, 'CANCELLED');
  } finally {
    await conn.close();
  }
  assert.equal(await rig.bus.queueDepth(`${rig.cfg.MQ_PREFIX}.order-processing.saga.dlq`), 0, 'nothing dead-lettered for want of a handler');
});

test('the CLI names a bad command or an unknown message and exits non-zero', async () => {
  await assert.rejects(cli('replay'), (e: { code?: number; stderr?: string }) => e.code === 2 && /needs --queue/.test(e.stderr ?? ''));
  await assert.rejects(cli('replay', '--queue', 'order-processing.saga', '--id', 'nope'), (e: { code?: number; stderr?: string }) => e.code === 1 && /no dead letter nope/.test(e.stderr ?? ''));
});

test('unknown queue is 404, bad limit 400, no token 401', async () => {
  assert.equal((await admin('/dead-letters/nope')).status, 404);
  assert.equal((await admin('/dead-letters/order-processing.saga?limit=0')).status, 400);
  assert.equal((await admin('/dead-letters/order-processing.saga?limit=abc')).status, 400);
  assert.equal((await fetch(`${rig.base}/dead-letters`)).status, 401);
  assert.equal((await fetch(`${rig.base}/dead-letters/order-processing.saga/replay`, { method: 'POST' })).status, 401);
});
