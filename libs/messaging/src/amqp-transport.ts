import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { Envelope, parseEnvelope, QUEUES, QueueName } from '@orders/contracts';
import { isInfrastructureError } from '@orders/persistence';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { lastValueFrom } from 'rxjs';
import { AmqpConnection } from './amqp-connection';
import { AmqpMessageContext, deliveryHeaders, POISON_RETURNS, Prepared, routeFailure } from './delivery';
import { errorText, HasDisposition } from './errors';
import { currentMessage } from './message-context';
import { messageBatchSize, messageHandlingSeconds, messagesHandled } from './metrics';
import type { OnMessageExtras } from './on-message';
import { observeMessageWait } from './queue-metrics';
import { withConsumerSpan } from './tracing';

export { AmqpMessageContext, POISON_RETURNS } from './delivery';

export interface AmqpTransportOptions {
  /** Messages in flight per queue (channel prefetch): the service's bounded concurrency. */
  prefetch: Partial<Record<QueueName, number>>;
  defaultPrefetch: number;
  /** Delay before each retry; a message is tried `retryDelaysMs.length + 1` times, then dead-lettered. */
  retryDelaysMs: readonly number[];
  /**
   * Pauses before handling a message again, in place, when a dependency
   * fails it (say, 'too many clients' or a deadlock as the database comes
   * back); only when they are used up is it deferred. Default IN_PLACE_RETRY_MS.
   */
  inPlaceRetryMs?: readonly number[];
  /**
   * Where a queue's handlers are all `batchable` (@OnMessage), the deliveries
   * that gathered while the previous batch ran are handled together, in
   * order, as one transaction of this unit of work (at most `maxBatch` at a
   * time; one batch per queue at a time). Unset, or `maxBatch` below 2: one
   * message at a time, side by side up to the prefetch.
   */
  batches?: { unitOfWork: BatchScope; maxBatch: number };
}

/** Runs handlers one after another in one transaction that commits when `fn` resolves (UnitOfWork.inBatch). */
export interface BatchScope {
  inBatch<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * A blip of the database (a connection refused while it restarts, 'too many
 * clients', a deadlock) would otherwise send a message through the defer
 * tiers, and every message behind it would overtake it: a customer's cancel
 * would then arrive after its own order had started and ended. Held in place
 * for these ~1.5 s, the message keeps its turn; a longer outage defers it.
 */
export const IN_PLACE_RETRY_MS: readonly number[] = [100, 400, 1000];

interface Subscription {
  queue: QueueName;
  handlers: Map<string, MessageHandler>;
  ch?: Channel;
  tag?: string;
  /** Consecutive failed (re)subscriptions: the backoff before the next. */
  failures: number;
  timer?: NodeJS.Timeout;
  /** Paused by an operator: the channel stays open, without a consumer. */
  paused?: boolean;
  /** Deliveries still being handled, kept when a handler of this queue waits for earlier ones (@OnMessage afterEarlier). */
  pending?: Set<Promise<void>>;
  /** Set when the queue is consumed in batches: deliveries gathered for the next batch, with the channel each came on. */
  batch?: { gathered: Array<{ ch: Channel; msg: ConsumeMessage }>; running: boolean; scheduled: boolean };
}

/**
 * A @nestjs/microservices transport over amqplib that keeps the platform's
 * guarantees, which the stock RMQ transport does not:
 * - one consumer per queue, and per queue one handler per message name
 *   (@OnMessage registers `queue#name`), so two queues bound to the same
 *   message are consumed, failed, retried and acked independently;
 * - a message is acked only after its handler (and so its transaction) succeeded;
 * - a failure of the message's own making is re-queued through growing delay
 *   tiers and, after the last, moved to the queue's dead-letter queue with the
 *   reason (announced as message.dead-lettered.v1, so the order it belongs to
 *   can end); a message that cannot be parsed or validated is dead-lettered at once;
 * - a dependency being unavailable (database, broker, SMTP, gateway) or an
 *   explicit 'defer' never uses up an attempt: the message goes through the
 *   defer tiers (the last repeating) for as long as the outage lasts;
 * - retries and deferrals keep the message's AMQP priority;
 * - a consumer channel closed or cancelled by the broker is reopened, with
 *   backoff, and the service reports not ready while any of its queues has
 *   no live consumer (AmqpConnection.unconsumedQueues).
 */
export class AmqpTransport extends Server implements CustomTransportStrategy {
  protected override readonly logger = new Logger('AmqpTransport');
  private readonly inFlight = new Set<Promise<void>>();
  private readonly subs: Subscription[] = [];
  private stopping = false;
  /** The connection the consumers belong to; a reopen scheduled on an older one is dropped. */
  private model?: ChannelModel;

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
      const extras = handler.extras as Partial<OnMessageExtras> | undefined;
      const queue = extras?.queue;
      if (!queue || !(queue in QUEUES) || !extras?.message) throw new Error(`handler for ${pattern} names no known queue (use @OnMessage)`);
      if (handler.next) throw new Error(`two handlers for ${extras.message} on ${queue}`);
      if (!byQueue.has(queue)) byQueue.set(queue, new Map());
      byQueue.get(queue)!.set(extras.message, handler);
    }
    for (const [queue, handlers] of byQueue) {
      const ordered = [...handlers.values()].some((h) => (h.extras as Partial<OnMessageExtras>).afterEarlier);
      const batched = (this.opts.batches?.maxBatch ?? 1) > 1 && [...handlers.values()].every((h) => (h.extras as Partial<OnMessageExtras>).batchable);
      this.subs.push({
        queue, handlers, failures: 0, paused: this.pausedQueues.has(queue),
        ...(batched ? { batch: { gathered: [], running: false, scheduled: false } } : ordered ? { pending: new Set() } : {}),
      });
    }
    this.amqp.expectConsumers(this.subs.map((s) => s.queue), (q) => this.subs.some((s) => s.queue === q && (s.tag !== undefined || (!!s.paused && !!s.ch))));
    await this.amqp.onConnected(async (model) => {
      if (this.stopping) return;
      this.model = model;
      for (const s of this.subs) {
        clearTimeout(s.timer);
        s.ch = undefined;
        s.tag = undefined;
        s.failures = 0;
        await this.subscribe(model, s);
      }
    });
    callback();
  }

  /** Opens the queue's channel and consumer; when the broker closes or cancels it, comes back after a backoff. */
  private async subscribe(model: ChannelModel, s: Subscription): Promise<void> {
    const ch = await model.createChannel();
    if (model !== this.model || s.ch || this.stopping) {
      // a newer connection (or another reopen) took over meanwhile
      await ch.close().catch(() => undefined);
      return;
    }
    s.ch = ch;
    ch.on('error', (err: Error) => this.logger.warn(`channel for ${s.queue}: ${err.message}`));
    ch.on('handler-error', (err: Error) => this.logger.error(`channel listener for ${s.queue}: ${err.message}`));
    ch.on('close', () => {
      // deliveries gathered on it can no longer be acknowledged: the broker hands them out again
      if (s.batch) s.batch.gathered = s.batch.gathered.filter((g) => g.ch !== ch);
      if (s.ch !== ch) return;
      s.ch = undefined;
      s.tag = undefined;
      this.resubscribeLater(model, s);
    });
    await ch.prefetch(this.opts.prefetch[s.queue] ?? this.opts.defaultPrefetch);
    if (!s.paused) await this.consume(ch, s);
    s.failures = 0;
  }

  private async consume(ch: Channel, s: Subscription): Promise<void> {
    const { consumerTag } = await ch.consume(this.amqp.names.queue(s.queue), (msg) => {
      if (!msg) {
        // Cancelled by the broker (queue deleted, node going away): close this channel; its close handler resubscribes.
        this.logger.warn(`consumer of ${s.queue} was cancelled by the broker`);
        s.tag = undefined;
        ch.close().catch(() => undefined);
        return;
      }
      if (s.batch) {
        s.batch.gathered.push({ ch, msg });
        this.scheduleBatch(s);
        return;
      }
      const earlier = s.pending ? [...s.pending] : undefined;
      const p = this.handle(ch, s.queue, s.handlers, msg, earlier).finally(() => {
        this.inFlight.delete(p);
        s.pending?.delete(p);
      });
      this.inFlight.add(p);
      s.pending?.add(p);
    });
    s.tag = consumerTag;
  }

  /**
   * Pauses consumption of exactly these of the own queues (the others resume):
   * a paused queue keeps its channel and loses its consumer, so its messages
   * wait in the broker; readiness does not count it as missing.
   */
  private pausedQueues: ReadonlySet<string> = new Set();

  async setPaused(paused: ReadonlySet<string>): Promise<void> {
    this.pausedQueues = paused; // for subscriptions not made yet (set before listen)
    for (const s of this.subs) {
      const want = paused.has(s.queue);
      if (want === !!s.paused) continue;
      s.paused = want;
      this.logger.log(`consumption of ${s.queue} ${want ? 'paused' : 'resumed'}`);
      if (want && s.ch && s.tag) {
        const tag = s.tag;
        s.tag = undefined;
        await s.ch.cancel(tag).catch(() => undefined);
      } else if (!want && s.ch && !s.tag && !this.stopping) {
        await this.consume(s.ch, s).catch((e: Error) => this.logger.warn(`resuming ${s.queue} failed: ${e.message}`));
      }
    }
  }

  /** The own queues and whether each is paused. */
  queues(): Array<{ queue: QueueName; paused: boolean }> {
    return this.subs.map((s) => ({ queue: s.queue, paused: !!s.paused }));
  }

  private resubscribeLater(model: ChannelModel, s: Subscription): void {
    if (this.stopping || !this.amqp.isConnected || model !== this.model) return; // a lost connection resubscribes through onConnected
    const delay = Math.min(5000, 200 * 2 ** s.failures++);
    this.logger.warn(`consumer channel of ${s.queue} closed; reopening in ${delay} ms`);
    clearTimeout(s.timer);
    s.timer = setTimeout(() => {
      if (this.stopping || s.ch || model !== this.model) return;
      this.amqp
        .ensureQueue(s.queue)
        .then(() => this.subscribe(model, s))
        .catch((e: Error) => {
          this.logger.warn(`reopening the consumer of ${s.queue} failed: ${e.message}`);
          this.resubscribeLater(model, s);
        });
    }, delay);
    s.timer.unref();
  }

  /** Starts the next batch once the deliveries of this event-loop turn have arrived, unless one is running. */
  private scheduleBatch(s: Subscription): void {
    const b = s.batch!;
    if (b.running || b.scheduled || b.gathered.length === 0) return;
    b.scheduled = true;
    setImmediate(() => {
      b.scheduled = false;
      this.startBatch(s);
    });
  }

  /** Takes what gathered (up to maxBatch, of one channel) and handles it: alone as usual, or as one batch. */
  private startBatch(s: Subscription): void {
    const b = s.batch!;
    if (b.running || b.gathered.length === 0 || this.stopping) return;
    const ch = b.gathered[0].ch;
    let n = 0;
    while (n < b.gathered.length && n < this.opts.batches!.maxBatch && b.gathered[n].ch === ch) n++;
    const msgs = b.gathered.splice(0, n).map((g) => g.msg);
    messageBatchSize.observe({ queue: s.queue }, msgs.length);
    b.running = true;
    const handled = msgs.length === 1 ? this.handle(ch, s.queue, s.handlers, msgs[0]) : this.handleBatch(ch, s.queue, s.handlers, msgs);
    const p = handled.catch((err: unknown) => this.logger.error(`handling on ${s.queue} failed unexpectedly: ${errorText(err)}`)).finally(() => {
      this.inFlight.delete(p);
      b.running = false;
      this.startBatch(s);
    });
    this.inFlight.add(p);
  }

  /**
   * Several deliveries of one queue, in their order, in one transaction
   * (BatchScope), then acknowledged together. If the batch fails (one
   * handler threw, the commit failed), nothing of it was kept: each message
   * is then handled on its own, as if it had come alone, so one message's
   * failure is its own (retries, dead letter) and never another's.
   */
  private async handleBatch(ch: Channel, queue: QueueName, handlers: Map<string, MessageHandler>, msgs: ConsumeMessage[]): Promise<void> {
    const ready: Prepared[] = [];
    for (const msg of msgs) {
      const prepared = await this.prepareOrFail(ch, queue, handlers, msg);
      if (prepared) ready.push(prepared);
    }
    if (ready.length === 0) return;
    try {
      await this.opts.batches!.unitOfWork.inBatch(async () => {
        for (const r of ready) await r.run();
      });
    } catch (err) {
      this.logger.log(`a batch of ${ready.length} on ${queue} failed (${errorText(err)}); handling each on its own`);
      messagesHandled.inc({ queue, message: 'batch', outcome: 'batch_split' }, 1);
      const settled: Array<Promise<void>> = [];
      for (const r of ready) {
        const earlier = r.afterEarlier ? [...settled] : [];
        settled.push(this.runAlone(ch, queue, r, earlier));
      }
      await Promise.all(settled);
      return;
    }
    try {
      for (const r of ready) this.acked(ch, queue, r);
    } catch (err) {
      // the channel closed after the commit: the broker redelivers the rest, and their inbox rows make that a no-op
      this.logger.warn(`acknowledging a batch on ${queue} failed (${errorText(err)}); its messages come back as duplicates`);
    }
  }

  /** `earlier`: the deliveries of this queue still being handled when this one arrived (kept only where a handler waits for them). */
  private async handle(ch: Channel, queue: QueueName, handlers: Map<string, MessageHandler>, msg: ConsumeMessage, earlier?: Array<Promise<void>>): Promise<void> {
    const prepared = await this.prepareOrFail(ch, queue, handlers, msg);
    if (prepared) await this.runAlone(ch, queue, prepared, earlier);
  }

  /** Runs one prepared delivery in its own transaction (retried in place while a dependency blips), then acks or fails it. */
  private async runAlone(ch: Channel, queue: QueueName, r: Prepared, earlier?: Array<Promise<void>>): Promise<void> {
    try {
      // delivered in the queue's order but handled side by side: this one starts once those before it have settled
      if (earlier?.length && r.afterEarlier) await Promise.allSettled(earlier);
      await this.withInPlaceRetries(r.run, queue, r.name, r.msg.properties.messageId ?? '');
      this.acked(ch, queue, r);
    } catch (err) {
      await routeFailure(this.amqp, this.opts.retryDelaysMs, ch, queue, r, err);
      messageHandlingSeconds.observe({ queue, message: r.name }, Number(process.hrtime.bigint() - r.started) / 1e9);
    }
  }

  private acked(ch: Channel, queue: QueueName, r: Prepared): void {
    ch.ack(r.msg);
    messagesHandled.inc({ queue, message: r.name, outcome: 'ack' });
    messageHandlingSeconds.observe({ queue, message: r.name }, Number(process.hrtime.bigint() - r.started) / 1e9);
  }

  /**
   * Parses and validates a delivery and finds its handler; a delivery that
   * cannot be handled (invalid, no handler, poison) is failed here and
   * undefined returned.
   */
  private async prepareOrFail(ch: Channel, queue: QueueName, handlers: Map<string, MessageHandler>, msg: ConsumeMessage): Promise<Prepared | undefined> {
    const { attempt, firstAttemptAt, deferrals, returned } = deliveryHeaders(msg);
    const started = process.hrtime.bigint();
    observeMessageWait(queue, msg);
    let name = msg.properties.type ?? msg.fields.routingKey;
    let env: Envelope | undefined;
    try {
      env = parseEnvelope(msg.content);
      name = env.name;
      const handler = handlers.get(env.name);
      if (!handler) throw Object.assign(new Error(`no handler for ${env.name} on ${queue}`), { disposition: 'dead-letter' });
      if (returned >= POISON_RETURNS) {
        // its handling ended the consumer (a crash, a kill) this often: stop here, with the announcement, before the broker
        // dead-letters it silently at QUORUM_DELIVERY_LIMIT and the order it belongs to never ends
        throw Object.assign(new Error(`returned to the queue ${returned} times without an answer (its handling ends the consumer)`), { disposition: 'dead-letter' });
      }
      const p = env.payload as { orderId?: unknown; tenantId?: unknown };
      const current = {
        queue, messageId: env.id, name: env.name,
        ...(typeof p.orderId === 'string' ? { orderId: p.orderId } : {}),
        ...(typeof p.tenantId === 'string' ? { tenantId: p.tenantId } : {}),
      };
      const ctx = new AmqpMessageContext(queue, attempt, msg, firstAttemptAt, deferrals);
      const parsed = env;
      const msgName = name;
      const run = () =>
        withConsumerSpan(queue, msgName, msg.properties.headers, async () => {
          const result = await currentMessage.run(current, () => handler(parsed, ctx));
          await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
        });
      const afterEarlier = !!(handler.extras as Partial<OnMessageExtras>).afterEarlier;
      return { msg, name, env, attempt, firstAttemptAt, deferrals, afterEarlier, started, run };
    } catch (err) {
      await routeFailure(this.amqp, this.opts.retryDelaysMs, ch, queue, { msg, name, env, attempt, firstAttemptAt, deferrals }, err);
      messageHandlingSeconds.observe({ queue, message: name }, Number(process.hrtime.bigint() - started) / 1e9);
      return undefined;
    }
  }

  /** Runs `run`, again after each IN_PLACE_RETRY_MS pause while a dependency fails it (not while the service stops). */
  private async withInPlaceRetries(run: () => Promise<void>, queue: QueueName, name: string, id: string): Promise<void> {
    const pauses = this.opts.inPlaceRetryMs ?? IN_PLACE_RETRY_MS;
    for (let i = 0; ; i++) {
      try {
        return await run();
      } catch (err) {
        if (i >= pauses.length || this.stopping || !isInfrastructureError(err) || (err as Partial<HasDisposition>).disposition) throw err;
        this.logger.log(`${name} ${id}: ${errorText(err)}; again in ${pauses[i]} ms, in place`);
        messagesHandled.inc({ queue, message: name, outcome: 'retry_in_place' });
        await new Promise((r) => setTimeout(r, pauses[i]));
      }
    }
  }

  /** Stops taking new messages and waits (bounded) for those in flight to finish and ack. */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const s of this.subs) {
      clearTimeout(s.timer);
      if (s.ch && s.tag) await s.ch.cancel(s.tag).catch(() => undefined);
    }
    const deadline = new Promise((r) => setTimeout(r, 10000).unref());
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    for (const s of this.subs) {
      const ch = s.ch;
      s.ch = undefined;
      s.tag = undefined;
      await ch?.close().catch(() => undefined);
    }
  }
}
