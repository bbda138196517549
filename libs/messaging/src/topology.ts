import type { Channel } from 'amqplib';
import { QUEUE_MAX_PRIORITY, QUEUES, QueueName, RETIRED_BINDINGS } from '@orders/contracts';

/**
 * Classic queues (priorities honoured), or quorum queues (replicated; no
 * priorities on RabbitMQ 3.x; the broker itself dead-letters a message
 * redelivered more than QUORUM_DELIVERY_LIMIT times, e.g. one that crashes its
 * consumer every time, which the transport's own attempt count cannot see:
 * the transport dead-letters it one return earlier, announced, POISON_RETURNS).
 */
export type QueueType = 'classic' | 'quorum';
export const QUORUM_DELIVERY_LIMIT = 20;

/** Broker-side names, all under one prefix so runs (and tests) never see each other's queues. */
export class BrokerNames {
  constructor(readonly prefix: string, readonly queueType: QueueType = 'classic') {}
  get exchange(): string {
    return `${this.prefix}.events`;
  }
  queue(q: QueueName): string {
    return `${this.prefix}.${q}`;
  }
  retryQueue(q: QueueName, delayMs: number): string {
    return `${this.prefix}.${q}.retry.${delayMs}ms`;
  }
  deadLetterQueue(q: QueueName): string {
    return `${this.prefix}.${q}.dlq`;
  }
}

/** Declares one consumer queue, its dead-letter queue and its bindings (idempotent). */
export async function assertQueueOf(ch: Channel, names: BrokerNames, q: QueueName): Promise<void> {
  if (names.queueType === 'quorum') {
    await ch.assertQueue(names.deadLetterQueue(q), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.assertQueue(names.queue(q), {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': QUORUM_DELIVERY_LIMIT,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': names.deadLetterQueue(q),
      },
    });
  } else {
    const maxPriority = (QUEUE_MAX_PRIORITY as Partial<Record<QueueName, number>>)[q];
    await ch.assertQueue(names.queue(q), { durable: true, ...(maxPriority ? { maxPriority } : {}) });
    await ch.assertQueue(names.deadLetterQueue(q), { durable: true });
  }
  for (const m of QUEUES[q] as readonly string[]) await ch.bindQueue(names.queue(q), names.exchange, m);
  for (const m of ((RETIRED_BINDINGS as Partial<Record<QueueName, readonly string[]>>)[q] ?? [])) await ch.unbindQueue(names.queue(q), names.exchange, m);
}

/**
 * Declares the whole routing topology (idempotent): the topic exchange, every
 * consumer queue with its bindings and dead-letter queue, so nothing published
 * is dropped for want of a queue; and, for the queues this service consumes,
 * one delay queue per retry tier (TTL, then dead-lettered back to the queue).
 */
export async function assertTopology(ch: Channel, names: BrokerNames, ownQueues: readonly QueueName[], retryDelaysMs: readonly number[]): Promise<void> {
  await ch.assertExchange(names.exchange, 'topic', { durable: true });
  for (const q of Object.keys(QUEUES) as QueueName[]) await assertQueueOf(ch, names, q);
  for (const q of ownQueues) {
    for (const delay of new Set(retryDelaysMs)) {
      await ch.assertQueue(names.retryQueue(q, delay), {
        durable: true,
        arguments: {
          'x-message-ttl': delay,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': names.queue(q),
        },
      });
    }
  }
}
