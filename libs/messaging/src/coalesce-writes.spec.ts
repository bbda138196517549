import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { coalesceWrites } from './coalesce-writes';

/** A socket stand-in that records each write it is asked to make (one per system call on a real socket). */
function recordingStream(): { stream: Writable; calls: string[][] } {
  const calls: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      calls.push([chunk.toString()]);
      cb();
    },
    writev(chunks, cb) {
      calls.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      cb();
    },
  });
  return { stream, calls };
}

const nextTick = () => new Promise((r) => process.nextTick(r));

test('writes made in one tick leave in one call, in order; the next tick starts a new one', async () => {
  const { stream, calls } = recordingStream();
  coalesceWrites(stream);
  stream.write(Buffer.from('ack 1'));
  stream.write(Buffer.from('ack 2'));
  stream.write(Buffer.from('publish'));
  await nextTick();
  assert.deepEqual(calls, [['ack 1', 'ack 2', 'publish']]);
  stream.write(Buffer.from('ack 3'));
  await nextTick();
  assert.deepEqual(calls, [['ack 1', 'ack 2', 'publish'], ['ack 3']]);
});

test('a stream wrapped twice still sends everything once', async () => {
  const { stream, calls } = recordingStream();
  coalesceWrites(stream);
  coalesceWrites(stream);
  stream.write(Buffer.from('a'));
  stream.write(Buffer.from('b'));
  await nextTick();
  assert.deepEqual(calls, [['a', 'b']]);
});
