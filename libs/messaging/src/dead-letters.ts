import { Logger } from '@nestjs/common';
import type { Channel, GetMessage } from 'amqplib';
import { AmqpConnection } from './connection';
import type { Codec, Topology } from './schema';
import { ATTEMPT_HEADER, DEAD_LETTER_HEADERS, DEFERRALS_HEADER, FIRST_ATTEMPT_HEADER, LAST_ERROR_HEADER, REPLAYED_AT_HEADER } from './delivery-headers';
import { queuesReceiving, routingKeyOf } from './schema';

export interface DeadLetterView {
  messageId: string | null;
  name: string | null;
  attempts: number | null;
  lastError: string | null;
  deadLetteredAt: string | null;
  body: unknown;
}

export type QueueToolErrorCode = 'unknown_queue' | 'unknown_message' | 'broker_unavailable';

/** What the operators' tools (dead letters, pausing) refuse; callers map the code (HTTP status, CLI exit code). */
export class QueueToolError extends Error {
  constructor(readonly code: QueueToolErrorCode, message: string) {
    super(message);
    this.name = 'QueueToolError';
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
    attempts: header(m, DEAD_LETTER_HEADERS.attempts) === undefined ? null : Number(header(m, DEAD_LETTER_HEADERS.attempts)),
    lastError: str(header(m, LAST_ERROR_HEADER)),
    deadLetteredAt: str(header(m, DEAD_LETTER_HEADERS.at)),
    body,
  };
}

/**
 * Operators' tools for the dead-letter queues of this service's own queues:
 * how many each holds, what they are and why they failed, one by message id,
 * replay (one or all) with fresh attempts to where the message is consumed
 * now (its queue, or the queues that took over a binding since), and discard
 * (one or all). Consumers de-duplicate, so replaying something already
 * handled changes nothing. Messages looked at but not taken go back when the
 * channel closes, in their order.
 */
export class DeadLetters {
  private readonly logger = new Logger('DeadLetters');

  constructor(private readonly amqp: AmqpConnection, private readonly ownQueues: readonly string[]) {}

  /** The tools on a connection of their own, without the service running (a command line): `close` when done. */
  static async open(o: { url: string; prefix: string; topology: Topology; codec: Codec; ownQueues: readonly string[]; name: string }): Promise<{ deadLetters: DeadLetters; close(): Promise<void> }> {
    const amqp = new AmqpConnection({ url: o.url, prefix: o.prefix, connectionName: o.name, topology: o.topology, codec: o.codec, ownQueues: [], retryDelaysMs: [] });
    const connected = new Promise<void>((resolve) => void amqp.onConnected(async () => resolve()));
    await amqp.connect();
    await connected;
    return { deadLetters: new DeadLetters(amqp, o.ownQueues), close: () => amqp.close() };
  }

  async summary(): Promise<{ queues: Array<{ queue: string; messages: number }> }> {
    return this.withChannel(async (ch) => {
      const queues: Array<{ queue: string; messages: number }> = [];
      for (const q of this.ownQueues) {
        queues.push({ queue: q, messages: (await ch.checkQueue(this.amqp.names.deadLetterQueue(q))).messageCount });
      }
      return { queues };
    });
  }

  /** Looks at up to `limit` dead letters without removing them. */
  async peek(queue: string, limit: number): Promise<{ queue: string; messages: DeadLetterView[] }> {
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
  async show(queue: string, messageId: string): Promise<{ queue: string; message: DeadLetterView }> {
    const q = this.known(queue);
    const found = await this.withChannel((ch) => this.find(ch, q, messageId));
    if (!found) throw new QueueToolError('unknown_message', `no dead letter ${messageId} in ${q}`);
    return { queue: q, message: found };
  }

  /** Moves up to `limit` dead letters back to their queue, each with a fresh attempt count. */
  async replay(queue: string, limit: number): Promise<{ queue: string; replayed: number }> {
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
  async replayOne(queue: string, messageId: string): Promise<{ queue: string; replayed: number; messageId: string }> {
    const q = this.known(queue);
    const found = await this.withChannel((ch) => this.find(ch, q, messageId, (m) => this.moveBack(ch, q, m)));
    if (!found) throw new QueueToolError('unknown_message', `no dead letter ${messageId} in ${q}`);
    this.logger.log(`replayed dead letter ${messageId} to ${q}`);
    return { queue: q, replayed: 1, messageId };
  }

  /** Drops every dead letter of the queue (after the cause is understood and they are not wanted). */
  async discardAll(queue: string): Promise<{ queue: string; discarded: number }> {
    const q = this.known(queue);
    const { messageCount } = await this.withChannel((ch) => ch.purgeQueue(this.amqp.names.deadLetterQueue(q)));
    this.logger.log(`discarded ${messageCount} dead letter(s) of ${q}`);
    return { queue: q, discarded: messageCount };
  }

  /** Drops the one dead letter with this message id; the others stay. */
  async discardOne(queue: string, messageId: string): Promise<{ queue: string; discarded: number; messageId: string }> {
    const q = this.known(queue);
    const found = await this.withChannel((ch) => this.find(ch, q, messageId, async (m) => ch.ack(m)));
    if (!found) throw new QueueToolError('unknown_message', `no dead letter ${messageId} in ${q}`);
    this.logger.log(`discarded dead letter ${messageId} of ${q}`);
    return { queue: q, discarded: 1, messageId };
  }

  /** Walks the dead-letter queue once for `messageId`; `take` consumes the match (else it stays with the rest). */
  private async find(ch: Channel, q: string, messageId: string, take?: (m: GetMessage) => Promise<void>): Promise<DeadLetterView | undefined> {
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

  /** Replays one dead letter where its message is consumed now: its own queue if that still receives it, else the queues that do. */
  private async moveBack(ch: Channel, q: string, m: GetMessage): Promise<void> {
    const headers = { ...(m.properties.headers ?? {}) };
    const routingKey = this.routingKeyOf(m) ?? str(headers[DEAD_LETTER_HEADERS.routingKey]) ?? m.properties.type ?? '';
    for (const k of [ATTEMPT_HEADER, DEAD_LETTER_HEADERS.attempts, DEAD_LETTER_HEADERS.at, FIRST_ATTEMPT_HEADER, DEFERRALS_HEADER]) delete headers[k];
    const now = queuesReceiving(this.amqp.topology, routingKey);
    const to = now.length === 0 || now.includes(q) ? [q] : now;
    for (const target of to) {
      await this.amqp.sendToQueueConfirmed(this.amqp.names.queue(target), m.content, {
        messageId: m.properties.messageId,
        type: m.properties.type,
        contentType: m.properties.contentType,
        headers: { ...headers, [REPLAYED_AT_HEADER]: new Date().toISOString() },
      });
    }
    ch.ack(m);
  }

  /** The routing key the message is published with now (from the message itself: a retried copy's key is its queue's name). */
  private routingKeyOf(m: GetMessage): string | undefined {
    try {
      const env = this.amqp.codec.parse(m.content);
      return routingKeyOf(this.amqp.topology, env.name, env.payload);
    } catch {
      return undefined;
    }
  }

  private known(queue: string): string {
    if (!this.ownQueues.includes(queue)) {
      throw new QueueToolError('unknown_queue', `${queue} is not a queue of this service; its queues: ${this.ownQueues.join(', ')}`);
    }
    return queue;
  }

  private async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    if (!this.amqp.isConnected) throw new QueueToolError('broker_unavailable', 'the broker is not connected');
    return this.amqp.withChannel(fn);
  }
}
