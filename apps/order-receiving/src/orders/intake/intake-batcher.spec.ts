import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Outbox } from '@orders/messaging';
import type { Pool } from 'pg';
import { OrdersError } from '../orders.error';
import { IntakeBatcher, IntakeRow } from './intake-batcher';

/** The outbox as the batcher sees it: rows left to the relay (the statement is never run here). */
const outbox = { insertCte: () => ({ insert: 'INSERT …', direct: false, notify: 'pg_notify(…)' }), published: () => undefined } as unknown as Outbox;

/** A stand-in pool that records each statement's order ids and answers when told to. */
function fakePool() {
  const calls: Array<{ ids: string[]; answer: (inserted: string[]) => void; fail: (e: Error) => void }> = [];
  const pool = {
    query: (q: { values: unknown[] }) =>
      new Promise((resolve, reject) => {
        calls.push({ ids: q.values[3] as string[], answer: (inserted) => resolve({ rows: [{ inserted }] }), fail: reject });
      }),
  } as unknown as Pool;
  return { pool, calls };
}
const row = (orderId: string): IntakeRow => ({
  tenantId: 't', key: `k-${orderId}`, requestHash: 'h', orderId, response: '{}', holdSeconds: 0, customer: '{}', items: '[]', couponCode: null,
  shippingAddress: '{}', placedAt: new Date().toISOString(), message: { id: orderId, name: 'order.placed.v1', routingKey: 'order.placed.v1.quiet', raw: '{}', traceContext: null },
});
const tick = () => new Promise((r) => setImmediate(r));

test('alone, an order runs at once; while the slots are busy, waiting orders share the next statement', async () => {
  const { pool, calls } = fakePool();
  const b = new IntakeBatcher(() => pool, outbox, { maxInFlight: 1 });
  const first = b.place(row('a'));
  await tick();
  assert.deepEqual(calls.map((c) => c.ids), [['a']]);
  const rest = [b.place(row('b')), b.place(row('c')), b.place(row('d'))];
  await tick();
  assert.equal(calls.length, 1, 'nothing more runs while the only slot is busy');
  calls[0].answer(['a']);
  assert.equal(await first, true);
  await tick();
  assert.deepEqual(calls[1].ids, ['b', 'c', 'd']);
  calls[1].answer(['b', 'd']); // c's key already existed
  assert.deepEqual(await Promise.all(rest), [true, false, true]);
});

const unreachable = (m: string) => Object.assign(new Error(m), { code: 'ECONNREFUSED' });

test('a statement failed by the database being unreachable fails every order in it, and the next ones still run', async () => {
  const { pool, calls } = fakePool();
  const b = new IntakeBatcher(() => pool, outbox, { maxInFlight: 1, maxBatch: 2 });
  const p1 = b.place(row('a'));
  const p2 = b.place(row('b'));
  const p3 = b.place(row('c'));
  const p4 = b.place(row('d'));
  await tick();
  calls[0].fail(unreachable('db down'));
  await assert.rejects(p1, /db down/);
  await tick();
  assert.deepEqual(calls[1].ids, ['b', 'c'], 'at most maxBatch per statement');
  calls[1].fail(unreachable('still down'));
  await assert.rejects(Promise.all([p2, p3]), /still down/);
  await tick();
  calls[2].answer(['d']);
  assert.equal(await p4, true);
});

test('a statement failed by one row is retried in halves: only that row fails', async () => {
  const { pool, calls } = fakePool();
  const b = new IntakeBatcher(() => pool, outbox, { maxInFlight: 1 });
  const first = b.place(row('a'));
  const rest = Promise.allSettled(['b', 'c', 'd', 'e'].map((id) => b.place(row(id))));
  await tick();
  calls[0].answer(['a']);
  await first;
  const refuse = () => Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });
  for (let i = 1; ; i++) {
    await tick();
    const c = calls[i];
    if (!c) break;
    if (c.ids.includes('d')) c.fail(refuse());
    else c.answer(c.ids);
  }
  const results = await rest;
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
});

const saturated = (e: unknown) => e instanceof OrdersError && e.code === 'intake_saturated' && e.getStatus() === 503;

test('back-pressure: beyond maxQueued an order is refused at once (503, Retry-After), nothing sent; the queued ones still run', async () => {
  const { pool, calls } = fakePool();
  const b = new IntakeBatcher(() => pool, outbox, { maxInFlight: 1, maxQueued: 2, maxWaitMs: 60_000 });
  const running = b.place(row('a'));
  const waiting = [b.place(row('b')), b.place(row('c'))];
  const refusedAt = Date.now();
  await assert.rejects(b.place(row('d')), (e: unknown) => {
    assert.ok(saturated(e), String(e));
    assert.deepEqual((e as { getResponse(): { headers: unknown } }).getResponse().headers, { 'retry-after': '60' });
    return true;
  });
  assert.ok(Date.now() - refusedAt < 100, 'at once');
  assert.equal(b.load().saturated, true, 'saturated while it refuses');
  await tick();
  assert.deepEqual(calls.map((c) => c.ids), [['a']], 'the refused order never reached the database');
  calls[0].answer(['a']);
  await running;
  await tick();
  assert.deepEqual(calls[1].ids, ['b', 'c']);
  calls[1].answer(['b', 'c']);
  assert.deepEqual(await Promise.all(waiting), [true, true]);
});

test('back-pressure: an order that waits maxWaitMs for a slot is refused, with no further request to notice it; the load recovers', async () => {
  const { pool, calls } = fakePool();
  const b = new IntakeBatcher(() => pool, outbox, { maxInFlight: 1, maxQueued: 10, maxWaitMs: 200 });
  void b.place(row('a')); // holds the only slot: the database does not answer
  const started = Date.now();
  await assert.rejects(b.place(row('b')), saturated);
  assert.ok(Date.now() - started >= 190, `refused after maxWaitMs (${Date.now() - started} ms)`);
  await tick();
  assert.deepEqual(calls.map((c) => c.ids), [['a']], 'the expired order was never sent');
  const load = b.load();
  assert.equal(load.saturated, true);
  assert.equal(load.queued, 0);
  assert.equal(load.inFlight, 1);
  calls[0].answer(['a']);
  await tick();
  assert.equal(b.load(Date.now() + 200).saturated, false, 'up again once nothing was refused for maxWaitMs');
});

test('back-pressure: a statement running longer than maxWaitMs makes intake saturated', async () => {
  const { pool, calls } = fakePool();
  const b = new IntakeBatcher(() => pool, outbox, { maxInFlight: 2, maxQueued: 10, maxWaitMs: 1000 });
  const p = b.place(row('a'));
  await tick();
  assert.equal(b.load().saturated, false);
  assert.equal(b.load(Date.now() + 1500).saturated, true, 'the database has not answered for longer than an order may wait');
  calls[0].answer(['a']);
  await p;
  await tick();
  assert.equal(b.load(Date.now() + 1500).saturated, false, 'the statement has ended');
});

test("a heavy tenant's statements leave one slot free; a light tenant's order takes it at once, and goes first in the next statement", async () => {
  const { pool, calls } = fakePool();
  const b = new IntakeBatcher(() => pool, outbox, { maxInFlight: 2 });
  const heavy = (id: string) => b.place({ ...row(id), heavy: true });
  const h1 = heavy('h1');
  await tick();
  const rest = [heavy('h2'), heavy('h3')];
  await tick();
  assert.deepEqual(calls.map((c) => c.ids), [['h1']], 'the second slot is kept: h2 and h3 wait');
  const light = b.place(row('l1'));
  await tick();
  assert.deepEqual(calls.map((c) => c.ids), [['h1'], ['l1', 'h2', 'h3']], 'the light order runs at once in the kept slot, ahead of the waiting heavy ones');
  calls[0].answer(['h1']);
  calls[1].answer(['l1', 'h2', 'h3']);
  assert.deepEqual(await Promise.all([h1, light, ...rest]), [true, true, true, true]);
});

test('a light order queued behind heavy ones is taken first when the queue is longer than a statement', async () => {
  const { pool, calls } = fakePool();
  const b = new IntakeBatcher(() => pool, outbox, { maxInFlight: 1, maxBatch: 2 });
  const all = [b.place({ ...row('h0'), heavy: true })];
  await tick();
  all.push(b.place({ ...row('h1'), heavy: true }), b.place({ ...row('h2'), heavy: true }), b.place(row('l1')));
  await tick();
  calls[0].answer(['h0']);
  await tick();
  assert.deepEqual(calls[1].ids, ['l1', 'h1']);
  calls[1].answer(['l1', 'h1']);
  await tick();
  assert.deepEqual(calls[2].ids, ['h2'], 'the heavy ones keep their order');
  calls[2].answer(['h2']);
  assert.deepEqual(await Promise.all(all), [true, true, true, true]);
});
