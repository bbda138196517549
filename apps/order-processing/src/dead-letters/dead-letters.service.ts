import { Injectable, Logger } from '@nestjs/common';
import { QUEUES, QueueName } from '@orders/contracts';
import { AmqpConnection } from '@orders/messaging';
import type { Channel, GetMessage } from 'amqplib';
import { DeadLetterError } from './dead-letter.error';

export interface DeadLetterView {
  messageId: string | null;
  name: string | null;
  attempts: number | null;
  lastError: string | null;
  deadLetteredAt: string | null;
  body: unknown;
}

const header = (m: GetMessage, k: string): unknown => m.properties.headers?.[k];
const str = (v: unknown): string | null => (v === undefined || v === null ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

function view(m: GetMessage): DeadLetterView {
  let body: unknown;
  try {
    body = JSON.parse(m.content.toString('utf8'));
  } catch {
    body = m.content.toString('utf8').slice(0, 2000);
  }
  return {
    messageId: m.properties.messageId ?? null,
    name: (typeof (body as { name?: unknown } | null)?.name === 'string' ? (body as { name: string }).name : null) ?? str(m.properties.type),
    attempts: header(m, 'x-attempts') === undefined ? null : Number(header(m, 'x-attempts')),
    lastError: str(header(m, 'x-last-error')),
    deadLetteredAt: str(header(m, 'x-dead-lettered-at')),
    body,
  };
}

/**
 * Operators' view of the dead-letter queues: how many messages each holds,
 * what they are and why they failed, and a replay that moves them back to
 * their queue (consumers de-duplicate, so a replayed message that had in fact
 * been handled changes nothing). Used by the HTTP admin endpoints and by
 * the dlq CLI (dlq-cli.ts).
 */
@Injectable()
export class DeadLettersService {
  private readonly logger = new Logger('DeadLetters');

  constructor(private readonly amqp: AmqpConnection) {}

  async summary(): Promise<{ queues: Array<{ queue: QueueName; messages: number }> }> {
    return this.withChannel(async (ch) => {
      const queues: Array<{ queue: QueueName; messages: number }> = [];
      for (const q of Object.keys(QUEUES) as QueueName[]) {
        queues.push({ queue: q, messages: (await ch.checkQueue(this.amqp.names.deadLetterQueue(q))).messageCount });
      }
      return { queues };
    });
  }

  /** Looks at up to `limit` dead letters without removing them (they are put back when the channel closes). */
  async peek(queue: string, limit: number): Promise<{ queue: QueueName; messages: DeadLetterView[] }> {
    const q = this.known(queue);
    return this.withChannel(async (ch) => {
      const messages: DeadLetterView[] = [];
      for (let i = 0; i < limit; i++) {
        const m = await ch.get(this.amqp.names.deadLetterQueue(q), { noAck: false });
        if (!m) break;
        messages.push(view(m));
      }
      await ch.recover();
      return { queue: q, messages };
    });
  }

  /** Moves up to `limit` dead letters back to their queue, each with a fresh attempt count. */
  async replay(queue: string, limit: number): Promise<{ queue: QueueName; replayed: number }> {
    const q = this.known(queue);
    const replayed = await this.withChannel(async (ch) => {
      let n = 0;
      for (; n < limit; n++) {
        const m = await ch.get(this.amqp.names.deadLetterQueue(q), { noAck: false });
        if (!m) break;
        await this.moveBack(ch, q, m);
      }
      return n;
    });
    this.logger.log(`replayed ${replayed} dead letter(s) to ${q}`);
    return { queue: q, replayed };
  }

  /** Moves the one dead letter with this message id back to its queue; the others stay where they are. */
  async replayOne(queue: string, messageId: string): Promise<{ queue: QueueName; replayed: number; messageId: string }> {
    const q = this.known(queue);
    const found = await this.withChannel(async (ch) => {
      const dlq = this.amqp.names.deadLetterQueue(q);
      const { messageCount } = await ch.checkQueue(dlq);
      for (let i = 0; i < messageCount; i++) {
        const m = await ch.get(dlq, { noAck: false });
        if (!m) break;
        if (m.properties.messageId === messageId) {
          await this.moveBack(ch, q, m);
          return true;
        }
      }
      return false; // the ones looked at are put back when the channel closes
    });
    if (!found) throw new DeadLetterError('unknown_message', `no dead letter ${messageId} in ${q}`);
    this.logger.log(`replayed dead letter ${messageId} to ${q}`);
    return { queue: q, replayed: 1, messageId };
  }

  private async moveBack(ch: Channel, q: QueueName, m: GetMessage): Promise<void> {
    const headers = { ...(m.properties.headers ?? {}) };
    for (const k of ['x-attempt', 'x-attempts', 'x-dead-lettered-at', 'x-first-attempt-at', 'x-deferrals']) delete headers[k];
    await this.amqp.sendToQueueConfirmed(this.amqp.names.queue(q), m.content, {
      messageId: m.properties.messageId,
      type: m.properties.type,
      contentType: m.properties.contentType,
      headers: { ...headers, 'x-replayed-at': new Date().toISOString() },
    });
    ch.ack(m);
  }

  private known(queue: string): QueueName {
    if (!Object.prototype.hasOwnProperty.call(QUEUES, queue)) {
      throw new DeadLetterError('unknown_queue', `unknown queue ${queue}; known: ${Object.keys(QUEUES).join(', ')}`);
    }
    return queue as QueueName;
  }

  private async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    if (!this.amqp.isConnected) throw new DeadLetterError('broker_unavailable', 'the broker is not connected');
    return this.amqp.withChannel(fn);
  }
}
