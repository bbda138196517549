import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumeMessage } from 'amqplib';
import type { Outgoing } from './connection';
import { PACK_TYPE, packMessages, unpack } from './packing';
import type { Topology } from './schema';

/** Packing as a pure function: which messages share a pack, and that no queue sees two messages in another order. */

const topology = {
  messages: {},
  queues: {
    orders: ['order.placed.v1', { message: 'order.status.v1', route: '#' }],
    stock: ['stock.commit.v1'],
    mail: [{ message: 'order.status.v1', route: 'DONE.#' }],
  },
  route: (name: string, p: object) => (name === 'order.status.v1' ? (p as { s: string }).s : undefined),
} as unknown as Topology;

let n = 0;
const msg = (routingKey: string): Outgoing => ({ id: `m${++n}`, name: routingKey.split('.').slice(0, 3).join('.'), routingKey, raw: JSON.stringify({ id: `m${n}`, k: routingKey }) });
const keys = (out: ReturnType<typeof packMessages>) => out.map((o) => `${o.routingKey}×${o.count ?? 1}`);

test('messages of one routing key leave as one pack; a pack never exceeds the maximum', () => {
  const out = packMessages(topology, Array.from({ length: 5 }, () => msg('stock.commit.v1')), 3);
  assert.deepEqual(keys(out), ['stock.commit.v1×3', 'stock.commit.v1×2']);
  assert.equal(out[0].name, PACK_TYPE);
  assert.equal(out[0].raw.split('\n').length, 3);
});

test('interleaved keys for different queues still pack (their relative order is invisible to any consumer)', () => {
  const out = packMessages(topology, [msg('order.status.v1.RUN'), msg('stock.commit.v1'), msg('order.status.v1.RUN'), msg('stock.commit.v1')], 32);
  assert.deepEqual(keys(out), ['order.status.v1.RUN×2', 'stock.commit.v1×2']);
});

// Guards: a message overtaking one of another key bound for the same queue (PROCESSING after CONFIRMED, say).
test('a message of unknown transaction never joins a pack ahead of an earlier message of another key that reaches one of its queues', () => {
  const a = msg('order.status.v1.RUN');
  const b = msg('order.status.v1.DONE');
  const c = msg('order.status.v1.RUN');
  const out = packMessages(topology, [a, b, c], 32);
  assert.deepEqual(keys(out), ['order.status.v1.RUN×1', 'order.status.v1.DONE×1', 'order.status.v1.RUN×1']);
});

test('messages of other transactions and other orders may overtake one bound for the same queue; of the same order or transaction, never', () => {
  const of = (key: string, group: number, orderingKey: string) => ({ ...msg(key), group, orderingKey });
  const unrelated = packMessages(topology, [of('order.status.v1.RUN', 0, 'o1'), of('order.status.v1.DONE', 0, 'o0'), of('order.status.v1.RUN', 1, 'o2')], 32);
  assert.deepEqual(keys(unrelated), ['order.status.v1.RUN×2', 'order.status.v1.DONE×1']);
  const sameOrder = packMessages(topology, [of('order.status.v1.RUN', 0, 'o1'), of('order.status.v1.DONE', 0, 'o2'), of('order.status.v1.RUN', 1, 'o2')], 32);
  assert.deepEqual(keys(sameOrder), ['order.status.v1.RUN×1', 'order.status.v1.DONE×1', 'order.status.v1.RUN×1']);
  const sameTransaction = packMessages(topology, [of('order.status.v1.RUN', 0, 'o1'), of('order.status.v1.DONE', 1, 'o2'), of('order.status.v1.RUN', 1, 'o3')], 32);
  assert.deepEqual(keys(sameTransaction), ['order.status.v1.RUN×1', 'order.status.v1.DONE×1', 'order.status.v1.RUN×1']);
});

test('a key that reaches no declared queue is taken to reach any: nothing overtakes it', () => {
  const out = packMessages(topology, [msg('stock.commit.v1'), msg('other.thing.v1'), msg('stock.commit.v1')], 32);
  assert.deepEqual(keys(out), ['stock.commit.v1×1', 'other.thing.v1×1', 'stock.commit.v1×1']);
});

test('a maximum of 1 packs nothing', () => {
  assert.deepEqual(keys(packMessages(topology, [msg('stock.commit.v1'), msg('stock.commit.v1')], 1)), ['stock.commit.v1×1', 'stock.commit.v1×1']);
});

test('unpacking gives each message its own id, type and body, and the pack\'s headers without its count', () => {
  const [pack] = packMessages(topology, [
    { id: 'a', name: 'x.y.v1', routingKey: 'stock.commit.v1', raw: JSON.stringify({ id: 'a', name: 'x.y.v1', text: 'line\nbreak' }) },
    { id: 'b', name: 'x.y.v1', routingKey: 'stock.commit.v1', raw: JSON.stringify({ id: 'b', name: 'x.y.v1' }) },
  ], 8);
  const delivery = {
    content: Buffer.from(pack.raw), fields: { routingKey: pack.routingKey, redelivered: false },
    properties: { type: PACK_TYPE, messageId: pack.id, headers: { 'x-pack': 2, 'x-published-at': 1 } },
  } as unknown as ConsumeMessage;
  const inner = unpack(delivery);
  assert.deepEqual(inner.map((m) => [m.properties.messageId, m.properties.type]), [['a', 'x.y.v1'], ['b', 'x.y.v1']]);
  assert.equal(JSON.parse(inner[0].content.toString()).text, 'line\nbreak');
  assert.deepEqual(inner[1].properties.headers, { 'x-published-at': 1 });
});
