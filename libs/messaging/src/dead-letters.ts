import { Logger } from '@nestjs/common';
import { QUEUES, QueueName } from '@orders/contracts';
import type { Channel, GetMessage } from 'amqplib';
import type { AmqpConnection } from './amqp-connection';

export interface DeadLetterView {
  messageId: string | null;
  name: string | null;
  attempts: number | null;
  lastError: string | null;
  deadLetteredAt: string | null;
  body: unknown;
}

export type DeadLetterToolErrorCode = 'unknown_queue' | 'unknown_message' | 'broker_unavailable';

/** What the toolbox refuses; callers map the code (HTTP status, CLI exit code). */
export class DeadLetterToolError extends Error {
  constructor(readonly code: DeadLetterToolErrorCode, message: string) {
    super(message);
    this.name = 'DeadLetterToolError';
  }
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
 * Operators' tools for the dead-letter queue of every queue in the topology
 * (any service's): how many each holds, what they are and why they failed,
 * one by message id, replay (one or all) back to the queue with fresh
 * attempts (consumers de-duplicate, so replaying something already handled
 * changes nothing), and discard (one or all). Messages looked at but not
 * taken go back when the channel closes, in their order.
 */
export class DeadLetterToolbox {
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

  /** Looks at up to `limit` dead letters without removing them. */
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

  /** The one dead letter with this message id, left in place. */
  async show(queue: string, messageId: string): Promise<{ queue: QueueName; message: DeadLetterView }> {
    const q = this.known(queue);
    const found = await this.withChannel((ch) => this.find(ch, q, messageId));
    if (!found) throw new DeadLetterToolError('unknown_message', `no dead letter ${messageId} in ${q}`);
    return { queue: q, message: found };
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
    const found = await this.withChannel((ch) => this.find(ch, q, messageId, (m) => this.moveBack(ch, q, m)));
    if (!found) throw new DeadLetterToolError('unknown_message', `no dead letter ${messageId} in ${q}`);
    this.logger.log(`replayed dead letter ${messageId} to ${q}`);
    return { queue: q, replayed: 1, messageId };
  }

  /** Drops every dead letter of the queue (after the cause is understood and they are not wanted). */
  async discardAll(queue: string): Promise<{ queue: QueueName; discarded: number }> {
    const q = this.known(queue);
    const { messageCount } = await this.withChannel((ch) => ch.purgeQueue(this.amqp.names.deadLetterQueue(q)));
    this.logger.log(`discarded ${messageCount} dead letter(s) of ${q}`);
    return { queue: q, discarded: messageCount };
  }

  /** Drops the one dead letter with this message id; the others stay. */
  async discardOne(queue: string, messageId: string): Promise<{ queue: QueueName; discarded: number; messageId: string }> {
    const q = this.known(queue);
    const found = await this.withChannel((ch) => this.find(ch, q, messageId, async (m) => ch.ack(m)));
    if (!found) throw new DeadLetterToolError('unknown_message', `no dead letter ${messageId} in ${q}`);
    this.logger.log(`discarded dead letter ${messageId} of ${q}`);
    return { queue: q, discarded: 1, messageId };
  }

  /** Walks the dead-letter queue once for `messageId`; `take` consumes the match (else it stays with the rest). */
  private async find(ch: Channel, q: QueueName, messageId: string, take?: (m: GetMessage) => Promise<void>): Promise<DeadLetterView | undefined> {
    const dlq = this.amqp.names.deadLetterQueue(q);
    const { messageCount } = await ch.checkQueue(dlq);
    for (let i = 0; i < messageCount; i++) {
      const m = await ch.get(dlq, { noAck: false });
      if (!m) break;
      if (m.properties.messageId === messageId) {
        if (take) await take(m);
        return view(m);
      }
    }
    return undefined; // the ones looked at are put back when the channel closes
  }

  private async moveBack(ch: Channel, q: QueueName, m: GetMessage): Promise<void> {
    const headers = { ...(m.properties.headers ?? {}) };
    for (const k of ['x-attempt', 'x-attempts', 'x-dead-lettered-at', 'x-first-attempt-at', 'x-deferrals']) delete headers[k];
    await this.amqp.sendToQueueConfirmed(this.amqp.names.queue(q), m.content, {
      messageId: m.properties.messageId,
      type: m.properties.type,
      contentType: m.properties.contentType,
      ...(m.properties.priority !== undefined ? { priority: m.properties.priority } : {}),
      headers: { ...headers, 'x-replayed-at': new Date().toISOString() },
    });
    ch.ack(m);
  }

  private known(queue: string): QueueName {
    if (!Object.prototype.hasOwnProperty.call(QUEUES, queue)) {
      throw new DeadLetterToolError('unknown_queue', `unknown queue ${queue}; known: ${Object.keys(QUEUES).join(', ')}`);
    }
    return queue as QueueName;
  }

  private async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    if (!this.amqp.isConnected) throw new DeadLetterToolError('broker_unavailable', 'the broker is not connected');
    return this.amqp.withChannel(fn);
  }
}
