import * as amqp from 'amqplib';
import { createEnvelope, MessageName, parseEnvelope, PayloadOf, routingKeyOf } from '@orders/contracts';
import { TEST_RABBITMQ_URL } from './names';

/**
 * The message bodies a delivery holds: a pack's (the messaging library's
 * packing.ts: AMQP type `messaging.pack`, one envelope per line), or its own.
 * Here rather than imported: the library's tests use this one.
 */
export function unpackedBodies(msg: amqp.ConsumeMessage): Buffer[] {
  if (msg.properties.type !== 'messaging.pack') return [msg.content];
  return msg.content.toString('utf8').split('\n').filter((l) => l.length > 0).map((l) => Buffer.from(l, 'utf8'));
}

const SYNC_MARKER = 'test-bus.sync';

/** An envelope as the bus sees it: `name` and its payload type from the message map the bus was made for. */
export interface BusEnvelope<N extends string = string, P = unknown> {
  id: string;
  name: N;
  occurredAt: string;
  correlationId?: string;
  payload: P;
}

/** How the bus makes, reads and routes envelopes: the platform's by default, any application's when given. */
export interface BusCodec {
  create(name: string, payload: object, meta: { id?: string }): BusEnvelope;
  /** Throws for a body that is not a valid envelope (the bus then ignores it). */
  parse(raw: Buffer): BusEnvelope;
  routingKeyOf(name: string, payload: object): string;
}

/** The platform's messages (@orders/contracts), the bus's default. */
export type PlatformMessages = { [N in MessageName]: PayloadOf<N> };

export const PLATFORM_BUS_CODEC: BusCodec = {
  create: (name, payload, meta) => createEnvelope(name as MessageName, payload as PayloadOf<MessageName>, meta),
  parse: (raw) => parseEnvelope(raw),
  routingKeyOf: (name, payload) => routingKeyOf(name, payload),
};

type NameOf<M> = keyof M & string;

/**
 * A test's view of the broker under one MQ_PREFIX: publish any message as a
 * producer would, and record every message of given names that flows through
 * the exchange (on its own exclusive queue, so the services' queues are
 * untouched). `M` maps message names to payloads (the platform's unless
 * given, with the codec that goes with them).
 */
export class TestBus<M extends object = PlatformMessages> {
  private readonly seen: BusEnvelope[] = [];
  private watchQueue?: string;
  private readonly markers = new Set<string>();
  private constructor(
    private readonly conn: amqp.ChannelModel,
    private readonly ch: amqp.ConfirmChannel,
    readonly prefix: string,
    private readonly codec: BusCodec,
  ) {}

  static async connect<M extends object = PlatformMessages>(
    prefix: string,
    watch: Array<NoInfer<NameOf<M>>> = [],
    url = TEST_RABBITMQ_URL,
    codec: BusCodec = PLATFORM_BUS_CODEC,
  ): Promise<TestBus<M>> {
    const conn = await amqp.connect(url);
    const ch = await conn.createConfirmChannel();
    const exchange = `${prefix}.events`;
    await ch.assertExchange(exchange, 'topic', { durable: true });
    const bus = new TestBus<M>(conn, ch, prefix, codec);
    if (watch.length) {
      const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
      bus.watchQueue = queue;
      for (const name of watch) await ch.bindQueue(queue, exchange, `${name}.#`);
      await ch.consume(queue, (msg) => {
        if (!msg) return;
        if (msg.properties.type === SYNC_MARKER) bus.markers.add(String(msg.properties.messageId));
        else {
          for (const body of unpackedBodies(msg)) {
            try {
              bus.seen.push(codec.parse(body));
            } catch {
              /* not a valid envelope: nothing a test waits for */
            }
          }
        }
        ch.ack(msg);
      });
    }
    return bus;
  }

  get exchange(): string {
    return `${this.prefix}.events`;
  }

  /** Publishes a message as its producer would (its routing key included). */
  async publish<N extends NameOf<M>>(name: N, payload: M[N], meta: { id?: string } = {}): Promise<BusEnvelope<N, M[N]>> {
    const env = this.codec.create(name, payload as object, { id: meta.id }) as BusEnvelope<N, M[N]>;
    await this.publishRaw(this.codec.routingKeyOf(name, payload as object), Buffer.from(JSON.stringify(env)), env.id, name);
    return env;
  }

  /** Publishes many messages at once (one wait for the broker's confirms): a backlog that arrives faster than it is consumed. */
  async publishMany<N extends NameOf<M>>(name: N, payloads: ReadonlyArray<M[N]>): Promise<void> {
    for (const payload of payloads) {
      const env = this.codec.create(name, payload as object, {});
      this.ch.publish(this.exchange, this.codec.routingKeyOf(name, payload as object), Buffer.from(JSON.stringify(env)), {
        persistent: true, messageId: env.id, contentType: 'application/json', type: name,
      });
    }
    await this.ch.waitForConfirms();
  }

  /** Publishes arbitrary bytes under a routing key (poison-message tests). */
  async publishRaw(routingKey: string, body: Buffer, messageId?: string, type?: string): Promise<void> {
    this.ch.publish(this.exchange, routingKey, body, { persistent: true, messageId, contentType: 'application/json', ...(type ? { type } : {}) });
    await this.ch.waitForConfirms();
  }

  /** Everything recorded so far with this name (optionally filtered). */
  messages<N extends NameOf<M>>(name: N, where: (p: M[N]) => boolean = () => true): Array<BusEnvelope<N, M[N]>> {
    return (this.seen.filter((e) => e.name === name) as Array<BusEnvelope<N, M[N]>>).filter((e) => where(e.payload));
  }

  /** Waits for a message of this name matching `where`. */
  async waitFor<N extends NameOf<M>>(name: N, where: (p: M[N]) => boolean = () => true, timeoutMs = 10000): Promise<BusEnvelope<N, M[N]>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages(name, where)[0];
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${name} matching within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Resolves once every message routed to this bus before the call has been
   * recorded: a marker sent to the bus's own queue arrives after them (one
   * queue, one consumer, in order).
   */
  async sync(timeoutMs = 10000): Promise<void> {
    if (!this.watchQueue) return;
    const id = `sync-${Date.now()}-${Math.random()}`;
    this.ch.sendToQueue(this.watchQueue, Buffer.from('{}'), { messageId: id, type: SYNC_MARKER });
    await this.ch.waitForConfirms();
    const deadline = Date.now() + timeoutMs;
    while (!this.markers.delete(id)) {
      if (Date.now() > deadline) throw new Error(`the test bus did not catch up within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Messages currently waiting in a broker queue (e.g. `${prefix}.inventory.commands.dlq`). */
  async queueDepth(queue: string): Promise<number> {
    const ch = await this.conn.createChannel();
    try {
      return (await ch.checkQueue(queue)).messageCount;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /**
   * Publishes a message as a request (direct reply-to), as a service's
   * Messaging.request does, and resolves with the consumer's reply, or
   * undefined after `timeoutMs`.
   */
  async request<N extends NameOf<M>>(name: N, payload: M[N], timeoutMs = 10000): Promise<unknown> {
    const ch = await this.conn.createConfirmChannel();
    try {
      const env = this.codec.create(name, payload as object, {});
      const correlationId = env.id;
      let answered: (v: unknown) => void = () => undefined;
      const reply = new Promise<unknown>((resolve) => (answered = resolve));
      const timer = setTimeout(() => answered(undefined), timeoutMs);
      await ch.consume('amq.rabbitmq.reply-to', (msg) => {
        if (!msg || msg.properties.correlationId !== correlationId) return;
        clearTimeout(timer);
        answered(JSON.parse(msg.content.toString('utf8')));
      }, { noAck: true });
      await new Promise<void>((resolve, reject) => {
        ch.publish(this.exchange, this.codec.routingKeyOf(name, payload as object), Buffer.from(JSON.stringify(env)), {
          persistent: true, messageId: env.id, type: name, contentType: 'application/json', correlationId, replyTo: 'amq.rabbitmq.reply-to',
        }, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
      });
      return await reply;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /**
   * Answers the requests arriving in one of the services' queues (`queue`,
   * without the prefix) as its consumer would: `answer` gets each envelope
   * and returns the reply (undefined: no reply, the message is left unanswered
   * but taken). Returns a function that stops answering.
   */
  async respond(queue: string, answer: (env: BusEnvelope) => unknown): Promise<() => Promise<void>> {
    const { consumerTag } = await this.ch.consume(`${this.prefix}.${queue}`, (msg) => {
      if (!msg) return;
      const reply = answer(this.codec.parse(msg.content));
      if (reply !== undefined && msg.properties.replyTo) {
        this.ch.sendToQueue(msg.properties.replyTo, Buffer.from(JSON.stringify(reply)), { correlationId: msg.properties.correlationId });
      }
      this.ch.ack(msg);
    });
    return async () => void (await this.ch.cancel(consumerTag));
  }

  /** Deletes every queue and the exchange under this prefix that the test knows of. */
  async cleanup(queues: string[] = []): Promise<void> {
    for (const q of queues) await this.ch.deleteQueue(q).catch(() => undefined);
    await this.conn.close().catch(() => undefined);
  }
}

/** Deletes every queue (main, dead-letter, retry tiers) and the exchange a test run created under `prefix` (the platform's queues unless `queues`). */
export async function deleteBrokerTopology(prefix: string, retryDelaysMs: readonly number[] = [], url = TEST_RABBITMQ_URL, queues?: readonly string[]): Promise<void> {
  const names = queues ?? Object.keys((await import('@orders/contracts')).QUEUES);
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    for (const q of names) {
      for (const name of [`${prefix}.${q}`, `${prefix}.${q}.dlq`, ...retryDelaysMs.map((d) => `${prefix}.${q}.retry.${d}ms`)]) {
        await ch.deleteQueue(name);
      }
    }
    await ch.deleteExchange(`${prefix}.events`);
    await ch.close();
  } finally {
    await conn.close().catch(() => undefined);
  }
}
