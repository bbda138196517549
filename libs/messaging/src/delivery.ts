import { Logger } from '@nestjs/common';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { AmqpConnection } from './connection';
import {
  ATTEMPT_HEADER, DEAD_LETTER_HEADERS, DEFERRALS_HEADER, FIRST_ATTEMPT_HEADER, headersForCopy, LAST_ERROR_HEADER, propertiesForCopy,
} from './delivery-headers';
import { dispositionOf, errorText } from './errors';
import { messagesHandled } from './metrics';
import { Envelope, routingKeyOf } from './schema';

/** Available to handlers as @Ctx(). */
export class MessageContext {
  constructor(
    readonly queue: string,
    readonly attempt: number,
    readonly raw: ConsumeMessage,
    /** When this message was first handled (kept across retries and deferrals). */
    readonly firstAttemptAt: Date = new Date(),
    /** How often it was deferred so far. */
    readonly deferrals = 0,
  ) {}
}

/** A delivery as far as it was understood: its envelope is missing when it could not be read. */
export interface Delivery {
  msg: ConsumeMessage;
  name: string;
  env?: Envelope;
  attempt: number;
  firstAttemptAt: Date;
  deferrals: number;
}

/** The message announced before a dead letter is parked (MessagingOptions.announceDeadLetter). */
export interface Announcement {
  id: string;
  name: string;
  payload: object;
}

/** What a dead letter is, for the application's announcement. */
export interface DeadLetter {
  queue: string;
  /** The envelope, when the message could be read. */
  envelope?: Envelope;
  /** The raw body (a message this version cannot read still names its order, say). */
  body: Buffer;
  name: string;
  reason: string;
}

export type AnnounceDeadLetter = (d: DeadLetter) => Announcement | undefined;

const logger = new Logger('AmqpTransport');

/**
 * Where a failed delivery goes, by the error's disposition: dropped,
 * deferred (no attempt used up), retried after the next delay, or
 * dead-lettered with its reason (announced first, so whatever it belonged to
 * can still end); then it is acknowledged. If it cannot be routed (the
 * broker going away), it is left unacknowledged and comes back.
 */
export class FailureRouter {
  constructor(
    private readonly amqp: AmqpConnection,
    private readonly retryDelaysMs: readonly number[],
    private readonly announce?: AnnounceDeadLetter,
  ) {}

  async route(ch: Channel, queue: string, d: Delivery, err: unknown): Promise<void> {
    const { msg, name, attempt, firstAttemptAt, deferrals } = d;
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
      const copy = (extra: Record<string, unknown>) => ({
        ...propertiesForCopy(msg),
        headers: headersForCopy(msg, { [LAST_ERROR_HEADER]: reason, [FIRST_ATTEMPT_HEADER]: firstAttemptAt.toISOString(), ...extra }),
      });
      if (disposition === 'defer') {
        const tiers = this.amqp.deferDelaysMs;
        const delay = tiers[Math.min(deferrals, tiers.length - 1)];
        logger.log(`${name} ${id} deferred (${deferrals + 1}), back in ${delay} ms: ${reason}`);
        await this.amqp.sendToQueueConfirmed(this.amqp.names.retryQueue(queue, delay), msg.content, copy({ [DEFERRALS_HEADER]: deferrals + 1 }));
        messagesHandled.inc({ queue, message: name, outcome: 'defer' });
      } else if (disposition === 'retry' && attempt <= this.retryDelaysMs.length) {
        const delay = this.retryDelaysMs[attempt - 1];
        logger.warn(`${name} ${id} failed (attempt ${attempt}), retry in ${delay} ms: ${reason}`);
        await this.amqp.sendToQueueConfirmed(this.amqp.names.retryQueue(queue, delay), msg.content, copy({ [ATTEMPT_HEADER]: attempt + 1 }));
        messagesHandled.inc({ queue, message: name, outcome: 'retry' });
      } else {
        await this.deadLetter(queue, d, reason, copy);
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

  private async deadLetter(queue: string, d: Delivery, reason: string, copy: (extra: Record<string, unknown>) => object): Promise<void> {
    const { msg, name, env, attempt } = d;
    logger.error(`${name} ${msg.properties.messageId ?? ''} dead-lettered after ${attempt} attempt(s): ${reason}`);
    // Announce it first (idempotent by id): whatever it belongs to must still end.
    const a = this.announce?.({ queue, envelope: env, body: msg.content, name, reason });
    if (a) {
      const out = this.amqp.codec.create(a.name, a.payload, { id: a.id, correlationId: env?.correlationId });
      await this.amqp.publishConfirmed([{ id: a.id, name: a.name, routingKey: routingKeyOf(this.amqp.topology, a.name, a.payload), raw: JSON.stringify(out) }]);
    }
    await this.amqp.sendToQueueConfirmed(this.amqp.names.deadLetterQueue(queue), msg.content, copy({
      [DEAD_LETTER_HEADERS.attempts]: attempt,
      [DEAD_LETTER_HEADERS.at]: new Date().toISOString(),
      [DEAD_LETTER_HEADERS.queue]: queue,
      [DEAD_LETTER_HEADERS.routingKey]: msg.fields.routingKey,
    }));
    messagesHandled.inc({ queue, message: name, outcome: 'dead_letter' });
  }
}
