import { Logger } from '@nestjs/common';
import type { Envelope, QueueName } from '@orders/contracts';
import type { Channel, ConsumeMessage } from 'amqplib';
import { AmqpConnection } from './amqp-connection';
import { deadLetterEvent } from './dead-letter-event';
import { dispositionOf, errorText } from './errors';
import { messagesHandled } from './metrics';
import { QUORUM_DELIVERY_LIMIT } from './topology';

/** Available to handlers as @Ctx(). */
export class AmqpMessageContext {
  constructor(
    readonly queue: QueueName,
    readonly attempt: number,
    readonly raw: ConsumeMessage,
    /** When this message was first handled (kept across retries and deferrals). */
    readonly firstAttemptAt: Date = new Date(),
    /** How often it was deferred so far. */
    readonly deferrals = 0,
  ) {}
}

const ATTEMPT_HEADER = 'x-attempt';
const FIRST_ATTEMPT_HEADER = 'x-first-attempt-at';
const DEFERRALS_HEADER = 'x-deferrals';
/** Set by quorum queues: how often the message went back to the queue unacknowledged (its consumer died or left). */
const DELIVERY_COUNT_HEADER = 'x-delivery-count';
/** One short of the broker's own limit, so the transport dead-letters the message itself, announced. */
export const POISON_RETURNS = QUORUM_DELIVERY_LIMIT - 1;

/** What the transport reads from a delivery's headers. */
export function deliveryHeaders(msg: ConsumeMessage): { attempt: number; firstAttemptAt: Date; deferrals: number; returned: number } {
  const h = msg.properties.headers ?? {};
  const first = new Date(String(h[FIRST_ATTEMPT_HEADER] ?? ''));
  return {
    attempt: Number(h[ATTEMPT_HEADER] ?? 1) || 1,
    firstAttemptAt: Number.isNaN(first.getTime()) ? new Date() : first,
    deferrals: Number(h[DEFERRALS_HEADER] ?? 0) || 0,
    returned: Number(h[DELIVERY_COUNT_HEADER] ?? 0) || 0,
  };
}

/** A delivery as far as it was understood: its envelope is missing when it could not be parsed. */
export interface Delivery {
  msg: ConsumeMessage;
  name: string;
  env?: Envelope;
  attempt: number;
  firstAttemptAt: Date;
  deferrals: number;
}

/** A delivery ready to run: parsed, validated, its handler found. */
export interface Prepared extends Delivery {
  env: Envelope;
  afterEarlier: boolean;
  started: bigint;
  run: () => Promise<void>;
}

const logger = new Logger('AmqpTransport');

/**
 * Where a failed delivery goes, by the error's disposition: dropped,
 * deferred (no attempt used up), retried after the next delay, or
 * dead-lettered with its reason (announced first, so its order can end);
 * then it is acknowledged. If it cannot be routed (the broker going away),
 * it is left unacknowledged and comes back.
 */
export async function routeFailure(amqp: AmqpConnection, retryDelaysMs: readonly number[], ch: Channel, queue: QueueName, d: Delivery, err: unknown): Promise<void> {
  const { msg, name, env, attempt, firstAttemptAt, deferrals } = d;
  const disposition = dispositionOf(err);
  const reason = errorText(err);
  const id = msg.properties.messageId ?? '';
  try {
    if (disposition === 'drop') {
      logger.warn(`${name} ${id} dropped: ${reason}`);
      ch.ack(msg);
      messagesHandled.inc({ queue, message: name, outcome: 'drop' });
      return;
    }
    const delays = retryDelaysMs;
    // the broker's return count belongs to this delivery, not to the copy (a replay would start out as poison)
    const { [DELIVERY_COUNT_HEADER]: _returned, ...kept } = (msg.properties.headers ?? {}) as Record<string, unknown>;
    const headers = { ...kept, 'x-last-error': reason, [FIRST_ATTEMPT_HEADER]: firstAttemptAt.toISOString() };
    const props = {
      messageId: msg.properties.messageId,
      type: msg.properties.type,
      contentType: msg.properties.contentType,
      ...(msg.properties.priority !== undefined ? { priority: msg.properties.priority as number } : {}),
    };
    if (disposition === 'defer') {
      const tiers = amqp.deferDelaysMs;
      const delay = tiers[Math.min(deferrals, tiers.length - 1)];
      logger.log(`${name} ${id} deferred (${deferrals + 1}), back in ${delay} ms: ${reason}`);
      await amqp.sendToQueueConfirmed(amqp.names.retryQueue(queue, delay), msg.content, {
        ...props,
        headers: { ...headers, [DEFERRALS_HEADER]: deferrals + 1 },
      });
      messagesHandled.inc({ queue, message: name, outcome: 'defer' });
    } else if (disposition === 'retry' && attempt <= delays.length) {
      const delay = delays[attempt - 1];
      logger.warn(`${name} ${id} failed (attempt ${attempt}), retry in ${delay} ms: ${reason}`);
      await amqp.sendToQueueConfirmed(amqp.names.retryQueue(queue, delay), msg.content, {
        ...props,
        headers: { ...headers, [ATTEMPT_HEADER]: attempt + 1 },
      });
      messagesHandled.inc({ queue, message: name, outcome: 'retry' });
    } else {
      logger.error(`${name} ${id} dead-lettered after ${attempt} attempt(s): ${reason}`);
      // Announce it first (idempotent by id): the order it belongs to must still end.
      const announcement = deadLetterEvent(queue, env, reason);
      if (announcement) await amqp.publishConfirmed([announcement]);
      await amqp.sendToQueueConfirmed(amqp.names.deadLetterQueue(queue), msg.content, {
        ...props,
        headers: {
          ...headers,
          'x-attempts': attempt,
          'x-dead-lettered-at': new Date().toISOString(),
          'x-original-queue': queue,
          'x-original-routing-key': msg.fields.routingKey,
        },
      });
      messagesHandled.inc({ queue, message: name, outcome: 'dead_letter' });
    }
    ch.ack(msg);
  } catch (e) {
    // Could not park it (broker going away): leave it unacked so it is redelivered.
    logger.warn(`could not route failed ${name} (${(e as Error).message}); it will be redelivered`);
    try {
      ch.nack(msg, false, true);
    } catch {
      /* channel already closed: the broker redelivers */
    }
  }
}
