import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { Writable } from 'node:stream';
import { coalesceWrites } from './coalesce-writes';
import { PUBLISHED_AT_HEADER } from './delivery-headers';
import { PACK_CONTENT_TYPE, PACK_HEADER } from './packing';
import { Codec, Topology } from './schema';
import { BrokerNames, declareQueueOf, declareTopology, QueueType, withErrorsLogged } from './topology';

export interface AmqpConnectionOptions {
  url: string;
  prefix: string;
  /** Shown in the broker's management UI. */
  connectionName: string;
  topology: Topology;
  codec: Codec;
  /** Queues this service consumes (gets retry tiers for them). */
  ownQueues: readonly string[];
  retryDelaysMs: readonly number[];
  /** Delay tiers for deferred messages (declared like retry tiers); default: retryDelaysMs. */
  deferDelaysMs?: readonly number[];
  /** Kind of the consumer and dead-letter queues (QUEUE_TYPE); default classic. */
  queueType?: QueueType;
}

/** A message ready for the exchange: its id, routing key and serialized envelope. */
export interface Outgoing {
  id: string;
  routingKey: string;
  /** The message name (AMQP `type`). */
  name: string;
  raw: string;
  headers?: Record<string, string>;
  /** A pack of this many messages (packing.ts): `raw` holds their envelopes, one per line. */
  count?: number;
}

type SetupHook = (model: ChannelModel) => Promise<void>;

/**
 * One connection per process, recovered automatically (amqplib's recovery with
 * backoff). After every (re)connect it declares the topology, opens the
 * confirm channel used for all publishing, then runs the registered hooks
 * (consumers re-subscribe, the outbox relay drains).
 */
export class AmqpConnection {
  readonly names: BrokerNames;
  private readonly logger = new Logger('Amqp');
  private conn?: amqp.RecoveringChannelModel;
  private pub?: ConfirmChannel;
  private connected = false;
  private closing = false;
  private readonly hooks: SetupHook[] = [];
  private model?: ChannelModel;
  /** Requests waiting for their reply (direct reply-to), by correlation id. */
  private readonly waiting = new Map<string, (reply: unknown) => void>();
  private requests?: Promise<ConfirmChannel>;

  constructor(readonly options: AmqpConnectionOptions) {
    this.names = new BrokerNames(options.prefix, options.queueType);
  }

  get topology(): Topology {
    return this.options.topology;
  }

  get codec(): Codec {
    return this.options.codec;
  }

  /** The delay tiers a deferred message goes through (the last one repeats). */
  get deferDelaysMs(): readonly number[] {
    return this.options.deferDelaysMs?.length ? this.options.deferDelaysMs : this.options.retryDelaysMs;
  }

  get isConnected(): boolean {
    return this.connected && !!this.pub;
  }

  private consumerCheck?: { queues: readonly string[]; live: (q: string) => boolean };

  /** The transport says which queues it consumes and how to tell whether each has a live consumer. */
  expectConsumers(queues: readonly string[], live: (q: string) => boolean): void {
    this.consumerCheck = { queues, live };
  }

  /** This service's queues without a live consumer right now (readiness: none may be left unconsumed). */
  unconsumedQueues(): string[] {
    const c = this.consumerCheck;
    if (!c) return [];
    return c.queues.filter((q) => !c.live(q));
  }

  /** Declares one consumer queue again (after the broker lost or deleted it). */
  async ensureQueue(q: string): Promise<void> {
    await this.withChannel(async (ch) => {
      const last = await declareQueueOf(this.currentModel(), ch, this.names, this.topology, q);
      if (last !== ch) await last.close().catch(() => undefined);
    });
  }

  /** Binds (or unbinds) a queue to a routing pattern at run time (routes that depend on data, such as webhook endpoints). */
  async setBinding(q: string, message: string, route: string, bound: boolean): Promise<void> {
    await this.withChannel(async (ch) => {
      const key = `${message}.${route}`;
      if (bound) await ch.bindQueue(this.names.queue(q), this.names.exchange, key);
      else await ch.unbindQueue(this.names.queue(q), this.names.exchange, key);
    });
  }

  /** Registers a hook run after every successful (re)connect, and at once if already connected. */
  async onConnected(hook: SetupHook): Promise<void> {
    this.hooks.push(hook);
    if (this.isConnected) await hook(this.currentModel());
  }

  private currentModel(): ChannelModel {
    if (!this.model) throw new Error('not connected');
    return this.model;
  }

  async connect(): Promise<void> {
    const conn = await amqp.connect(this.options.url, {
      clientProperties: { connection_name: this.options.connectionName },
      // Small AMQP frames must not wait for the peer's delayed ACK (Nagle): one hop cost ~40 ms without it.
      noDelay: true,
      recovery: {
        initialDelay: 200,
        maxDelay: 5000,
        factor: 2,
        jitter: 0.3,
        maxRetries: Infinity,
        initialMaxRetries: 20,
        setup: async (model: ChannelModel) => this.setup(model),
      },
    });
    this.conn = conn;
    conn.on('error', (err: Error) => this.logger.warn(`connection error: ${err.message}`));
    conn.on('handler-error', (err: Error) => this.logger.error(`listener error: ${err.message}`));
    conn.on('disconnect', (err?: Error) => {
      this.connected = false;
      this.pub = undefined;
      this.requests = undefined;
      if (!this.closing) this.logger.warn(`disconnected from broker${err ? `: ${err.message}` : ''}; reconnecting`);
    });
  }

  private async setup(model: ChannelModel): Promise<void> {
    this.model = model;
    coalesceWrites((model as unknown as { connection: { stream: Writable } }).connection.stream);
    const decl = await declareTopology(model, withErrorsLogged(await model.createChannel()), this.names, this.topology, this.options.ownQueues, [
      ...this.options.retryDelaysMs, ...this.deferDelaysMs,
    ]);
    await decl.close().catch(() => undefined);
    const ch = await model.createConfirmChannel();
    ch.on('error', (err: Error) => this.logger.warn(`publish channel error: ${err.message}`));
    ch.on('handler-error', (err: Error) => this.logger.error(`publish channel listener error: ${err.message}`));
    ch.on('close', () => {
      if (this.pub === ch) this.pub = undefined;
    });
    ch.on('return', (msg: amqp.ConsumeMessage) => this.logger.debug(`message ${msg.properties.messageId} (${msg.fields.routingKey}) reached no queue`));
    this.pub = ch;
    this.connected = true;
    this.logger.log(`connected to broker as ${this.options.connectionName}`);
    for (const hook of [...this.hooks]) { // a hook registered meanwhile already ran on its own (onConnected)
      try {
        await hook(model);
      } catch (e) {
        this.logger.error(`setup hook failed: ${(e as Error).message}`);
        throw e;
      }
    }
  }

  /** Publishes every message to the exchange and resolves once the broker confirmed all of them. */
  async publishConfirmed(messages: readonly Outgoing[]): Promise<void> {
    const ch = this.requirePublisher();
    const publishedAt = { [PUBLISHED_AT_HEADER]: Date.now() }; // consumers measure queue lag from it
    for (const m of messages) {
      const headers = m.count ? { ...m.headers, ...publishedAt, [PACK_HEADER]: m.count } : m.headers ? { ...m.headers, ...publishedAt } : publishedAt;
      ch.publish(this.names.exchange, m.routingKey, Buffer.from(m.raw), {
        persistent: true,
        messageId: m.id,
        type: m.name,
        contentType: m.count ? PACK_CONTENT_TYPE : 'application/json',
        headers,
      });
    }
    await ch.waitForConfirms();
  }

  /** Sends one message straight to a queue (retry tiers, dead letters, re-routing) and waits for the broker's confirm. */
  async sendToQueueConfirmed(queue: string, content: Buffer, options: Options.Publish): Promise<void> {
    const ch = this.requirePublisher();
    await new Promise<void>((resolve, reject) => {
      ch.sendToQueue(queue, content, { persistent: true, ...options }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Publishes a message (persistent, confirmed) and waits up to `timeoutMs`
   * for its consumer's reply (AMQP direct reply-to: the handler's result,
   * sent after its transaction committed). Undefined when none came in time:
   * the message itself stays queued and is handled later all the same.
   */
  async request(m: Outgoing, timeoutMs: number): Promise<unknown> {
    const ch = await this.requestChannel();
    const correlationId = randomUUID();
    const reply = new Promise<unknown>((resolve) => {
      this.waiting.set(correlationId, resolve);
      setTimeout(() => resolve(undefined), timeoutMs).unref();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        ch.publish(this.names.exchange, m.routingKey, Buffer.from(m.raw), {
          persistent: true, messageId: m.id, type: m.name, contentType: 'application/json', correlationId, replyTo: 'amq.rabbitmq.reply-to',
          headers: { ...m.headers, [PUBLISHED_AT_HEADER]: Date.now() },
        }, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
      });
      return await reply;
    } finally {
      this.waiting.delete(correlationId);
    }
  }

  /** Sends a handler's result to the requester that asked for it (`replyTo` of its message). */
  reply(to: ConsumeMessage, result: unknown): void {
    const { replyTo, correlationId } = to.properties;
    if (!replyTo || result === undefined) return;
    try {
      this.requirePublisher().sendToQueue(replyTo, Buffer.from(JSON.stringify(result)), { correlationId, contentType: 'application/json' });
    } catch (e) {
      this.logger.debug(`reply to ${String(correlationId)} not sent: ${(e as Error).message}`); // the requester times out
    }
  }

  /** The confirm channel requests are published on; it consumes its direct reply-to pseudo-queue. */
  private requestChannel(): Promise<ConfirmChannel> {
    if (!this.requests) {
      const opening = (async () => {
        const ch = await this.currentModel().createConfirmChannel();
        ch.on('error', (err: Error) => this.logger.warn(`request channel error: ${err.message}`));
        ch.on('close', () => {
          if (this.requests === opening) this.requests = undefined;
        });
        await ch.consume('amq.rabbitmq.reply-to', (msg) => {
          if (!msg) return;
          const resolve = this.waiting.get(String(msg.properties.correlationId));
          if (!resolve) return;
          try {
            resolve(JSON.parse(msg.content.toString('utf8')));
          } catch {
            resolve(undefined);
          }
        }, { noAck: true });
        return ch;
      })();
      opening.catch(() => {
        if (this.requests === opening) this.requests = undefined;
      });
      this.requests = opening;
    }
    return this.requests;
  }

  /** A short-lived channel for operator tasks (inspecting dead letters) and bindings. */
  async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    const ch = await this.currentModel().createChannel();
    ch.on('error', (err: Error) => this.logger.debug(`task channel: ${err.message}`));
    try {
      return await fn(ch);
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  private requirePublisher(): ConfirmChannel {
    if (!this.pub) throw new Error('broker not connected');
    return this.pub;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.connected = false;
    await this.conn?.close().catch(() => undefined);
  }
}
