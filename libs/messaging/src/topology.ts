import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, Options } from 'amqplib';
import { Binding, bindingKey, Topology } from './schema';

/**
 * Classic queues, or quorum queues (replicated). Either way the library
 * counts a message's crashes itself (see inbox.ts), so a quorum queue's
 * delivery limit is set far above what the library ever lets happen.
 */
export type QueueType = 'classic' | 'quorum';
export const QUORUM_DELIVERY_LIMIT = 1000;

/** Broker-side names, all under one prefix so runs (and tests) never see each other's queues. */
export class BrokerNames {
  constructor(readonly prefix: string, readonly queueType: QueueType = 'classic') {}
  get exchange(): string {
    return `${this.prefix}.events`;
  }
  queue(q: string): string {
    return `${this.prefix}.${q}`;
  }
  retryQueue(q: string, delayMs: number): string {
    return `${this.prefix}.${q}.retry.${delayMs}ms`;
  }
  deadLetterQueue(q: string): string {
    return `${this.prefix}.${q}.dlq`;
  }
}

const logger = new Logger('Topology');

/**
 * A channel for declaring: the broker closes it when it refuses a declaration
 * (406 for a queue that exists with other arguments), and an 'error' event
 * nobody listens for would end the process. The refusal itself reaches the
 * call that caused it.
 */
export function withErrorsLogged(ch: Channel): Channel {
  ch.on('error', (err: Error) => logger.debug(`declaring channel closed: ${err.message}`));
  return ch;
}

/** Arguments of a queue of this kind; `extra` for retry tiers (TTL, then back to their queue). */
function queueArgs(type: QueueType, extra: Record<string, unknown> = {}): Options.AssertQueue {
  const args = type === 'quorum' ? { 'x-queue-type': 'quorum', ...extra } : { 'x-queue-version': 2, ...extra };
  return { durable: true, arguments: args };
}

/**
 * Declares a queue; one that exists with other arguments (an earlier
 * version's, or the other QUEUE_TYPE) is kept as it is, with a warning: the
 * broker refuses to change a queue's kind or arguments, and a service that
 * refused to start over it would never be ready. Declaring on a closed
 * channel needs a new one, so the caller gets the channel to go on with.
 */
async function declareQueue(model: ChannelModel, ch: Channel, name: string, o: Options.AssertQueue): Promise<Channel> {
  try {
    await ch.assertQueue(name, o);
    return ch;
  } catch (e) {
    if ((e as { code?: number }).code !== 406) throw e; // PRECONDITION_FAILED: exists with other arguments
    const next = withErrorsLogged(await model.createChannel());
    await next.checkQueue(name);
    logger.warn(`queue ${name} exists with other arguments than ${JSON.stringify(o.arguments)}; it is used as it is (${(e as Error).message})`);
    return next;
  }
}

/** Declares one queue with its dead-letter queue and bindings (idempotent); returns the channel to go on with. */
export async function declareQueueOf(model: ChannelModel, ch: Channel, names: BrokerNames, topology: Topology, q: string): Promise<Channel> {
  ch = await declareQueue(model, ch, names.deadLetterQueue(q), queueArgs(names.queueType));
  const extra = names.queueType === 'quorum'
    ? { 'x-delivery-limit': QUORUM_DELIVERY_LIMIT, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': names.deadLetterQueue(q) }
    : {};
  ch = await declareQueue(model, ch, names.queue(q), queueArgs(names.queueType, extra));
  for (const b of topology.queues[q] ?? []) {
    const key = bindingKey(b);
    if (key) await ch.bindQueue(names.queue(q), names.exchange, key);
  }
  // an earlier version bound plain names by their exact key; the pattern above (`name.#`) includes it
  for (const b of topology.queues[q] ?? []) if (typeof b === 'string') await ch.unbindQueue(names.queue(q), names.exchange, b);
  for (const b of topology.retired?.[q] ?? []) await unbindAll(ch, names, q, b);
  return ch;
}

async function unbindAll(ch: Channel, names: BrokerNames, q: string, b: Binding): Promise<void> {
  const key = bindingKey(b);
  if (key) await ch.unbindQueue(names.queue(q), names.exchange, key);
  if (typeof b === 'string') await ch.unbindQueue(names.queue(q), names.exchange, b);
}

/**
 * Declares the whole routing topology (idempotent): the topic exchange,
 * every queue with its bindings and dead-letter queue, so nothing published
 * is dropped for want of a queue; and, for the queues this service consumes,
 * one delay queue per retry tier (TTL, then dead-lettered back to the queue).
 * Returns the channel to go on with.
 */
export async function declareTopology(
  model: ChannelModel, ch: Channel, names: BrokerNames, topology: Topology, ownQueues: readonly string[], delaysMs: readonly number[],
): Promise<Channel> {
  await ch.assertExchange(names.exchange, 'topic', { durable: true });
  for (const q of Object.keys(topology.queues)) ch = await declareQueueOf(model, ch, names, topology, q);
  for (const q of ownQueues) {
    for (const delay of new Set(delaysMs)) {
      const back = { 'x-message-ttl': delay, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': names.queue(q) };
      // quorum: a delayed message must not be lost on its way back (at-least-once dead-lettering needs reject-publish)
      const extra = names.queueType === 'quorum' ? { ...back, 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : back;
      ch = await declareQueue(model, ch, names.retryQueue(q, delay), queueArgs(names.queueType, extra));
    }
  }
  return ch;
}
