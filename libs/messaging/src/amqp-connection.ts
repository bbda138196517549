import { Logger } from '@nestjs/common';
import * as amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, Options } from 'amqplib';
import type { Envelope, QueueName } from '@orders/contracts';
import type { Writable } from 'node:stream';
import { coalesceWrites } from './coalesce-writes';
import { assertQueueOf, assertTopology, BrokerNames, QueueType } from './topology';
import { PUBLISHED_AT_HEADER } from './queue-metrics';

export interface AmqpConnectionOptions {
  url: string;
  prefix: string;
  /** Shown in the broker's management UI. */
  connectionName: string;
  /** Queues this service consumes (gets retry tiers for them). */
  ownQueues: readonly QueueName[];
  retryDelaysMs: readonly number[];
  /** Delay tiers for deferred messages (declared like retry tiers); default: retryDelaysMs. */
  deferDelaysMs?: readonly number[];
  /** Kind of the consumer and dead-letter queues (QUEUE_TYPE); default classic. */
  queueType?: QueueType;
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

  constructor(readonly options: AmqpConnectionOptions) {
    this.names = new BrokerNames(options.prefix, options.queueType);
  }

  /** The delay tiers a deferred message goes through (the last one repeats). */
  get deferDelaysMs(): readonly number[] {
    return this.options.deferDelaysMs?.length ? this.options.deferDelaysMs : this.options.retryDelaysMs;
  }

  get isConnected(): boolean {
    return this.connected && !!this.pub;
  }

  private consumerCheck?: { queues: readonly QueueName[]; live: (q: QueueName) => boolean };

  /** The transport says which queues it consumes and how to tell whether each has a live consumer. */
  expectConsumers(queues: readonly QueueName[], live: (q: QueueName) => boolean): void {
    this.consumerCheck = { queues, live };
  }

  /** This service's queues without a live consumer right now (readiness: none may be left unconsumed). */
  unconsumedQueues(): QueueName[] {
    const c = this.consumerCheck;
    if (!c) return [];
    return c.queues.filter((q) => !c.live(q));
  }

  /** Declares one consumer queue again (after the broker lost or deleted it). */
  async ensureQueue(q: QueueName): Promise<void> {
    await assertQueueOf(this.requirePublisher(), this.names, q);
  }

  /** Registers a hook run after every successful (re)connect, and at once if already connected. */
  async onConnected(hook: SetupHook): Promise<void> {
    this.hooks.push(hook);
    if (this.isConnected) await hook(this.currentModel());
  }

  private model?: ChannelModel;
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
      if (!this.closing) this.logger.warn(`disconnected from broker${err ? `: ${err.message}` : ''}; reconnecting`);
    });
  }

  private async setup(model: ChannelModel): Promise<void> {
    this.model = model;
    coalesceWrites((model as unknown as { connection: { stream: Writable } }).connection.stream);
    const ch = await model.createConfirmChannel();
    ch.on('error', (err: Error) => this.logger.warn(`publish channel error: ${err.message}`));
    ch.on('handler-error', (err: Error) => this.logger.error(`publish channel listener error: ${err.message}`));
    ch.on('close', () => {
      if (this.pub === ch) this.pub = undefined;
    });
    ch.on('return', (msg: amqp.ConsumeMessage) => this.logger.error(`unroutable message ${msg.properties.messageId} (${msg.fields.routingKey})`));
    await assertTopology(ch, this.names, this.options.ownQueues, [...this.options.retryDelaysMs, ...this.deferDelaysMs]);
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

  /** Publishes every envelope to the exchange (routing key = message name) and resolves once the broker confirmed all of them. */
  async publishConfirmed(envelopes: ReadonlyArray<{ raw: string; id: string; name: string; priority?: number; headers?: Record<string, string> }>): Promise<void> {
    const ch = this.requirePublisher();
    const publishedAt = { [PUBLISHED_AT_HEADER]: Date.now() }; // consumers measure queue lag from it
    for (const e of envelopes) {
      const headers = e.headers ? { ...e.headers, ...publishedAt } : publishedAt;
      ch.publish(this.names.exchange, e.name, Buffer.from(e.raw), {
        persistent: true,
        mandatory: true,
        messageId: e.id,
        type: e.name,
        contentType: 'application/json',
        headers,
        ...(e.priority !== undefined ? { priority: e.priority } : {}),
      });
    }
    await ch.waitForConfirms();
  }

  /** Sends one message straight to a queue (retry tiers, dead letters) and waits for the broker's confirm. */
  async sendToQueueConfirmed(queue: string, content: Buffer, options: Options.Publish): Promise<void> {
    const ch = this.requirePublisher();
    await new Promise<void>((resolve, reject) => {
      ch.sendToQueue(queue, content, { persistent: true, ...options }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** A short-lived channel for operator tasks (inspecting dead letters). */
  async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    const ch = await this.currentModel().createChannel();
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

export type { Envelope };
