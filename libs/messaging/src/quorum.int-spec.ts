import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, uniqueName } from '@orders/testing';
import * as amqp from 'amqplib';
import { assertTopology, BrokerNames, QUORUM_DELIVERY_LIMIT } from './topology';

/** QUEUE_TYPE=quorum: the topology declares quorum queues whose broker-side delivery limit dead-letters a message that is never acked. */
const prefix = uniqueName('q').toLowerCase();
const names = new BrokerNames(prefix, 'quorum');
let conn: amqp.ChannelModel | undefined;

after(async () => {
  if (!conn) return;
  const ch = await conn.createChannel();
  for (const q of [names.queue('inventory.commands'), names.deadLetterQueue('inventory.commands')]) await ch.deleteQueue(q).catch(() => undefined);
  await conn.close().catch(() => undefined);
  const c2 = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
  const ch2 = await c2.createChannel();
  const { QUEUES } = await import('@orders/contracts');
  for (const q of Object.keys(QUEUES) as Array<keyof typeof QUEUES>) {
    await ch2.deleteQueue(names.queue(q)).catch(() => undefined);
    await ch2.deleteQueue(names.deadLetterQueue(q)).catch(() => undefined);
  }
  await ch2.deleteExchange(names.exchange).catch(() => undefined);
  await c2.close();
});

test('quorum queues: a message redelivered past the delivery limit (a consumer that crashes on it every time) lands in the dead-letter queue', async () => {
  conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
  const ch = await conn.createChannel();
  await assertTopology(ch, names, [], []);
  const q = names.queue('inventory.commands');
  ch.sendToQueue(q, Buffer.from('{"crash":"me"}'), { persistent: true });
  let deliveries = 0;
  await eventually(async () => {
    const m = await ch.get(q, { noAck: false });
    if (m) {
      deliveries++;
      ch.nack(m, false, true); // as a consumer dying mid-message would: back to the queue
    }
    return (await ch.checkQueue(names.deadLetterQueue('inventory.commands'))).messageCount === 1;
  }, 20000, 5, 'dead-lettered by the broker');
  assert.ok(deliveries > QUORUM_DELIVERY_LIMIT, `delivered ${deliveries} times before it was parked`);
  assert.equal((await ch.checkQueue(q)).messageCount, 0);
});
