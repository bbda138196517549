import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupWrite } from './group-write';

test('a write alone goes at once; what arrives meanwhile goes together in the next one, in order', async () => {
  const writes: number[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const g = new GroupWrite<number>(async (items) => {
    writes.push([...items]);
    if (writes.length === 1) await gate;
  });
  const first = g.add(1);
  const rest = [g.add(2), g.add(3), g.add(4)];
  assert.deepEqual(writes, [[1]]);
  release();
  await Promise.all([first, ...rest]);
  assert.deepEqual(writes, [[1], [2, 3, 4]]);
});

test("a failed write fails its callers only; the next group still goes", async () => {
  let n = 0;
  const g = new GroupWrite<string>(async () => {
    if (n++ === 0) throw new Error('boom');
  });
  const a = g.add('a');
  const b = g.add('b');
  await assert.rejects(a, /boom/);
  await b;
});

test('groups are at most maxItems', async () => {
  const sizes: number[] = [];
  const g = new GroupWrite<number>(async (items) => void sizes.push(items.length), 2);
  await Promise.all([1, 2, 3, 4, 5].map((i) => g.add(i)));
  assert.deepEqual(sizes, [1, 2, 2]);
});

test('with gatherMs, what arrives within that time after a first item goes with it', async () => {
  const writes: number[][] = [];
  const g = new GroupWrite<number>(async (items) => void writes.push([...items]), 500, 30);
  const first = g.add(1);
  await new Promise((r) => setImmediate(r));
  const second = g.add(2);
  await Promise.all([first, second]);
  assert.deepEqual(writes, [[1, 2]]);
});
