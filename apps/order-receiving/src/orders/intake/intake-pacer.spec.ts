import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { IntakePacer } from './intake-pacer';

/** A pacer on mocked timers and clock; `settled` lists the heavy orders let go, in order. */
function pacer(perSecond = 10, maxDelayMs = 1000) {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const p = new IntakePacer({ perSecond, activeWindowMs: 1000, maxDelayMs });
  const settled: number[] = [];
  const heavy = (n: number) => {
    const wait = p.admit('bulk');
    if (!wait) settled.push(n);
    else void wait.then(() => settled.push(n));
  };
  return { p, settled, heavy, tick: async (ms: number) => { mock.timers.tick(ms); await new Promise((r) => setImmediate(r)); } };
}

test('with no light tenant active a heavy tenant is never paced', async (t) => {
  t.after(() => mock.timers.reset());
  const { p, settled, heavy, tick } = pacer();
  for (let i = 0; i < 100; i++) heavy(i);
  await tick(0);
  assert.equal(settled.length, 100);
  assert.equal(p.queued, 0);
});

test('while a light tenant is active, heavy orders go at the rate, in order, and a light one never waits', async (t) => {
  t.after(() => mock.timers.reset());
  const { p, settled, heavy, tick } = pacer(10);
  assert.equal(p.admit('quiet'), undefined);
  for (let i = 0; i < 5; i++) heavy(i);
  await tick(0);
  assert.deepEqual(settled, [0], 'one token at first');
  assert.equal(p.admit('quiet'), undefined, 'a light order goes at once beside a paced flood');
  await tick(100);
  assert.deepEqual(settled, [0, 1]);
  await tick(100);
  await tick(100);
  assert.deepEqual(settled, [0, 1, 2, 3]);
  p.admit('quiet');
  await tick(100);
  assert.deepEqual(settled, [0, 1, 2, 3, 4]);
  assert.equal(p.queued, 0);
});

test('a heavy order waits at most maxDelayMs, and all go once the light tenant is no longer active', async (t) => {
  t.after(() => mock.timers.reset());
  const { p, settled, heavy, tick } = pacer(1, 300);
  p.admit('quiet');
  for (let i = 0; i < 4; i++) heavy(i);
  await tick(0);
  assert.deepEqual(settled, [0]);
  await tick(300);
  assert.deepEqual(settled, [0, 1, 2, 3], 'waited 300 ms: accepted whatever the rate');
  mock.timers.tick(2000); // the light tenant's last order is 2.3 s old
  for (let i = 4; i < 8; i++) heavy(i);
  await tick(0);
  assert.deepEqual(settled, [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('close lets every waiting order go', async (t) => {
  t.after(() => mock.timers.reset());
  const { p, settled, heavy, tick } = pacer(1, 60000);
  p.admit('quiet');
  for (let i = 0; i < 3; i++) heavy(i);
  p.close();
  await tick(0);
  assert.deepEqual(settled, [0, 1, 2]);
});
