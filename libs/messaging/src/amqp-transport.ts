import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { Envelope, parseEnvelope, QUEUES, QueueName } from '@orders/contracts';
import type { Channel, ConsumeMessage } from 'amqplib';
import { lastValueFrom } from 'rxjs';
import { AmqpConnection } from './amqp-connection';
import { dispositionOf, errorText } from './errors';
import { messageHandlingSeconds, messagesHandled } from './metrics';

export interface AmqpTransportOptions {
  /** Messages in flight per queue (channel prefetch): the service's bounded concurrency. */
  prefetch: Partial<Record<QueueName, number>>;
  defaultPrefetch: number;
  /** Delay before each retry; a message is tried `retryDelaysMs.length + 1` times, then dead-lettered. */
  retryDelaysMs: readonly number[];
}

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

/**
 * A @nestjs/microservices transport over amqplib that keeps the platform's
 * guarantees, which the stock RMQ transport does not: a message is acked
 * only after its handler (and so its transaction) succeeded; a failing one
 * is re-queued through growing delay tiers and, after the last, moved to the
 * queue's dead-letter queue with the reason; a deferred one ('defer') goes
 * through the defer tiers without using up an attempt; a message that cannot be parsed
 * or validated is dead-lettered at once and never blocks the queue.
 */
export class AmqpTransport extends Server implements CustomTransportStrategy {
  protected override readonly logger = new Logger('AmqpTransport');
  private readonly inFlight = new Set<Promise<void>>();
  private readonly consumers: Array<{ ch: Channel; tag: string }> = [];
  private stopping = false;

  constructor(private readonly amqp: AmqpConnection, private readonly opts: AmqpTransportOptions) {
    super();
  }

  on(): never {
    throw new Error('AmqpTransport does not emit events');
  }

  unwrap<T>(): T {
    return this.amqp as T;
  }

  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    const byQueue = new Map<QueueName, Map<string, MessageHandler>>();
    for (const [pattern, handler] of this.messageHandlers) {
      const queue = handler.extras?.queue as QueueName | undefined;
      if (!queue || !(queue in QUEUES)) throw new Error(`handler for ${pattern} names no known queue (use @OnMessage)`);
      if (!byQueue.has(queue)) byQueue.set(queue, new Map());
      byQueue.get(queue)!.set(pattern, handler);
    }
    await this.amqp.onConnected(async (model) => {
      this.consumers.length = 0;
      if (this.stopping) return;
      for (const [queue, handlers] of byQueue) {
        const ch = await model.createChannel();
        ch.on('error', (err: Error) => this.logger.warn(`channel for ${queue}: ${err.message}`));
        ch.on('handler-error', (err: Error) => this.logger.error(`channel listener for ${queue}: ${err.message}`));
        await ch.prefetch(this.opts.prefetch[queue] ?? this.opts.defaultPrefetch);
        const { consumerTag } = await ch.consume(this.amqp.names.queue(queue), (msg) => {
          if (!msg) return;
          const p = this.handle(ch, queue, handlers, msg).finally(() => this.inFlight.delete(p));
          this.inFlight.add(p);
        });
        this.consumers.push({ ch, tag: consumerTag });
      }
    });
    callback();
  }

  private async handle(ch: Channel, queue: QueueName, handlers: Map<string, MessageHandler>, msg: ConsumeMessage): Promise<void> {
    const attempt = Number(msg.properties.headers?.[ATTEMPT_HEADER] ?? 1) || 1;
    const first = new Date(String(msg.properties.headers?.[FIRST_ATTEMPT_HEADER] ?? ''));
    const firstAttemptAt = Number.isNaN(first.getTime()) ? new Date() : first;
    const deferrals = Number(msg.properties.headers?.[DEFERRALS_HEADER] ?? 0) || 0;
    const started = process.hrtime.bigint();
    let name = msg.properties.type ?? msg.fields.routingKey;
    try {
      const env: Envelope = parseEnvelope(msg.content);
      name = env.name;
      const handler = handlers.get(env.name);
      if (!handler) throw Object.assign(new Error(`no handler for ${env.name} on ${queue}`), { disposition: 'dead-letter' });
      const result = await handler(env, new AmqpMessageContext(queue, attempt, msg, firstAttemptAt, deferrals));
      await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
      ch.ack(msg);
      messagesHandled.inc({ queue, message: name, outcome: 'ack' });
    } catch (err) {
      await this.fail(ch, queue, msg, name, attempt, err, firstAttemptAt, deferrals);
    } finally {
      messageHandlingSeconds.observe({ queue, message: name }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private async fail(ch: Channel, queue: QueueName, msg: ConsumeMessage, name: string, attempt: number, err: unknown, firstAttemptAt: Date, deferrals: number): Promise<void> {
    const disposition = dispositionOf(err);
    const reason = errorText(err);
    try {
      if (disposition === 'drop') {
        this.logger.warn(`${name} ${msg.properties.messageId ?? ''} dropped: ${reason}`);
        ch.ack(msg);
        messagesHandled.inc({ queue, message: name, outcome: 'drop' });
        return;
      }
      const delays = this.opts.retryDelaysMs;
      const headers = { ...(msg.properties.headers ?? {}), 'x-last-error': reason, [FIRST_ATTEMPT_HEADER]: firstAttemptAt.toISOString() };
      const props = { messageId: msg.properties.messageId, type: msg.properties.type, contentType: msg.properties.contentType };
      if (disposition === 'defer') {
        const tiers = this.amqp.deferDelaysMs;
        const delay = tiers[Math.min(deferrals, tiers.length - 1)];
        this.logger.log(`${name} ${props.messageId ?? ''} deferred (${deferrals + 1}), back in ${delay} ms: ${reason}`);
        await this.amqp.sendToQueueConfirmed(this.amqp.names.retryQueue(queue, delay), msg.content, {
          ...props,
          headers: { ...headers, [DEFERRALS_HEADER]: deferrals + 1 },
        });
        messagesHandled.inc({ queue, message: name, outcome: 'defer' });
      } else if (disposition === 'retry' && attempt <= delays.length) {
        const delay = delays[attempt - 1];
        this.logger.warn(`${name} ${props.messageId ?? ''} failed (attempt ${attempt}), retry in ${delay} ms: ${reason}`);
        await this.amqp.sendToQueueConfirmed(this.amqp.names.retryQueue(queue, delay), msg.content, {
          ...props,
          headers: { ...headers, [ATTEMPT_HEADER]: attempt + 1 },
        });
        messagesHandled.inc({ queue, message: name, outcome: 'retry' });
      } else {
        this.logger.error(`${name} ${props.messageId ?? ''} dead-lettered after ${attempt} attempt(s): ${reason}`);
        await this.amqp.sendToQueueConfirmed(this.amqp.names.deadLetterQueue(queue), msg.content, {
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
      this.logger.warn(`could not route failed ${name} (${(e as Error).message}); it will be redelivered`);
      try {
        ch.nack(msg, false, true);
      } catch {
        /* channel already closed: the broker redelivers */
      }
    }
  }

  /** Stops taking new messages and waits (bounded) for those in flight to finish and ack. */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const { ch, tag } of this.consumers) await ch.cancel(tag).catch(() => undefined);
    const deadline = new Promise((r) => setTimeout(r, 10000).unref());
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    for (const { ch } of this.consumers) await ch.close().catch(() => undefined);
  }
}
