import type { Channel } from 'amqplib';
import { QUEUE_MAX_PRIORITY, QUEUES, QueueName } from '@orders/contracts';

/** Broker-side names, all under one prefix so runs (and tests) never see each other's queues. */
export class BrokerNames {
  constructor(readonly prefix: string) {}
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

/**
 * Declares the whole routing topology (idempotent): the topic exchange, every
 * consumer queue with its bindings and dead-letter queue, so nothing published
 * is dropped for want of a queue; and, for the queues this service consumes,
 * one delay queue per retry tier (TTL, then dead-lettered back to the queue).
 */
export async function assertTopology(ch: Channel, names: BrokerNames, ownQueues: readonly QueueName[], retryDelaysMs: readonly number[]): Promise<void> {
  await ch.assertExchange(names.exchange, 'topic', { durable: true });
  for (const [q, messageNames] of Object.entries(QUEUES) as Array<[QueueName, readonly string[]]>) {
    const maxPriority = (QUEUE_MAX_PRIORITY as Partial<Record<QueueName, number>>)[q];
    await ch.assertQueue(names.queue(q), { durable: true, ...(maxPriority ? { maxPriority } : {}) });
    await ch.assertQueue(names.deadLetterQueue(q), { durable: true });
    for (const m of messageNames) await ch.bindQueue(names.queue(q), names.exchange, m);
  }
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
