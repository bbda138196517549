import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { AmqpConnection } from './connection';
import { deliveryHeaders, headersForCopy, propertiesForCopy } from './delivery-headers';
import { errorText } from './errors';
import { Handling, Prepared } from './handling';
import { messageBatchSize, messagesHandled } from './metrics';
import type { OnMessageExtras } from './on-message';
import { isPack, packChannel, unpack } from './packing';
import { Slots } from './slots';
import { bindingMessage } from './schema';

export interface TransportOptions {
  /** Messages in flight per queue (channel prefetch): the service's bounded concurrency. */
  prefetch: Readonly<Record<string, number>>;
  defaultPrefetch: number;
  /**
   * Where a queue's handlers are all `batchable` (@OnMessage), the deliveries
   * that gathered while the previous batch ran are handled together, in
   * order, as one transaction (at most `maxBatch`; one batch per queue at a
   * time). Unset, or `maxBatch` below 2: side by side up to the prefetch.
   */
  batches?: { scope: BatchScope; maxBatch: number };
}

/** Runs handlers (one after another, or together) in one transaction that commits when `fn` resolves (UnitOfWork.inBatch). */
export interface BatchScope {
  inBatch<T>(fn: () => Promise<T>): Promise<T>;
}

interface Subscription {
  queue: string;
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
  /**
   * Set when the queue is consumed in batches: deliveries gathered for the
   * next batch, with the channel each came on; `together`: a batch's handlers
   * start at once (@OnMessage together).
   */
  batch?: { gathered: Gathered[]; running: boolean; scheduled: boolean; together: boolean };
  /** Where the queue is not consumed in batches: handlers running at once are at most its prefetch, a pack's messages included. */
  slots?: Slots;
  /** Deliveries that came back unacknowledged run one after another, alone: the last of them. */
  careful: Promise<void>;
}

/** A delivery waiting for the next batch: `ch` is where it is settled (a pack's messages: the pack's), `on` the channel it came on. */
interface Gathered {
  ch: Channel;
  msg: ConsumeMessage;
  on: Channel;
}

/**
 * A @nestjs/microservices transport over amqplib that keeps the library's
 * guarantees, which the stock RMQ transport does not:
 * - one consumer per queue, and per queue one handler per message name, each
 *   message of an own queue with exactly one (checked at start-up);
 * - a message is acked only after its handler (and so its transaction) succeeded;
 * - failures go where their disposition says (FailureRouter): retried
 *   through growing delays, deferred while a dependency is down, or parked
 *   with its reason (announced first);
 * - a message that came back unacknowledged (its process died holding it)
 *   runs alone, and only its own crashes count towards parking it;
 * - a message this queue no longer consumes is moved to where it is consumed;
 * - a pack (packing.ts) is handled as the messages it holds, each on its own
 *   terms, and acknowledged once all of them are; one that came back
 *   unacknowledged is split into single messages first;
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
  private pausedQueues: ReadonlySet<string> = new Set();

  constructor(private readonly amqp: AmqpConnection, private readonly handling: Handling, private readonly opts: TransportOptions, private readonly ownQueues: readonly string[]) {
    super();
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  on(): never {
    throw new Error('AmqpTransport does not emit events');
  }

  unwrap<T>(): T {
    return this.amqp as T;
  }

  /** Nest awaits `callback`, not this promise: what fails here must reach it, or the start would hang with the error unhandled. */
  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    try {
      await this.subscribeAll();
    } catch (err) {
      callback(err);
      return;
    }
    callback();
  }

  private async subscribeAll(): Promise<void> {
    const byQueue = this.handlersByQueue();
    for (const [queue, handlers] of byQueue) {
      const extras = [...handlers.values()].map((h) => h.extras as Partial<OnMessageExtras>);
      const batched = (this.opts.batches?.maxBatch ?? 1) > 1 && extras.every((e) => e.batchable);
      this.subs.push({
        queue, handlers, failures: 0, paused: this.pausedQueues.has(queue), careful: Promise.resolve(),
        ...(batched
          ? { batch: { gathered: [], running: false, scheduled: false, together: extras.every((e) => e.together) } }
          : { slots: new Slots(this.opts.prefetch[queue] ?? this.opts.defaultPrefetch), ...(extras.some((e) => e.afterEarlier) ? { pending: new Set() } : {}) }),
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
  }

  /** The handlers per own queue; refuses a message of an own queue with no handler or two, and a handler for anything else. */
  private handlersByQueue(): Map<string, Map<string, MessageHandler>> {
    const byQueue = new Map<string, Map<string, MessageHandler>>();
    const problems: string[] = [];
    for (const [pattern, handler] of this.messageHandlers) {
      const { queue, message } = (handler.extras ?? {}) as Partial<OnMessageExtras>;
      if (!queue || !message || !this.ownQueues.includes(queue)) problems.push(`handler ${pattern} is not for a queue this service owns (${this.ownQueues.join(', ')})`);
      else {
        if (handler.next) problems.push(`two handlers for ${message} on ${queue}`);
        byQueue.set(queue, (byQueue.get(queue) ?? new Map()).set(message, handler));
      }
    }
    for (const q of this.ownQueues) {
      for (const m of (this.amqp.topology.queues[q] ?? []).map(bindingMessage)) if (!byQueue.get(q)?.has(m)) problems.push(`no handler for ${m} on ${q}`);
    }
    if (problems.length) throw new Error(`message handlers: ${problems.join('; ')}`);
    return byQueue;
  }

  /** Opens the queue's channel and consumer; when the broker closes or cancels it, comes back after a backoff. */
  private async subscribe(model: ChannelModel, s: Subscription): Promise<void> {
    const ch = await model.createChannel();
    if (model !== this.model || s.ch || this.stopping) {
      await ch.close().catch(() => undefined); // a newer connection (or another reopen) took over meanwhile
      return;
    }
    s.ch = ch;
    ch.on('error', (err: Error) => this.logger.warn(`channel for ${s.queue}: ${err.message}`));
    ch.on('handler-error', (err: Error) => this.logger.error(`channel listener for ${s.queue}: ${err.message}`));
    ch.on('close', () => {
      // deliveries gathered on it can no longer be acknowledged: the broker hands them out again
      if (s.batch) s.batch.gathered = s.batch.gathered.filter((g) => g.on !== ch);
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
      const returned = deliveryHeaders(msg).returned;
      if (isPack(msg)) return returned ? void this.track(s, this.split(ch, s, msg)) : this.unpacked(ch, s, msg);
      if (returned) return this.track(s, (s.careful = s.careful.then(() => this.handle(ch, s, msg))));
      this.dispatch(s, ch, msg, ch);
    });
    s.tag = consumerTag;
  }

  /** A delivery (or a message of a pack, settled on `settleOn`) into its queue's next batch, or handled within the queue's slots. */
  private dispatch(s: Subscription, settleOn: Channel, msg: ConsumeMessage, on: Channel): void {
    if (s.batch) {
      s.batch.gathered.push({ ch: settleOn, msg, on });
      this.scheduleBatch(s);
      return;
    }
    const earlier = s.pending ? [...s.pending] : undefined;
    const p = this.track(s, s.slots!.run(() => this.handle(settleOn, s, msg, earlier)));
    s.pending?.add(p);
  }

  /** A pack's messages, each handled as if it had come alone (in their order), the pack acknowledged once all are settled. */
  private unpacked(ch: Channel, s: Subscription, pack: ConsumeMessage): void {
    const msgs = unpack(pack);
    if (msgs.length === 0) return void ch.ack(pack);
    const settleOn = packChannel(ch, pack, msgs.length, (e) => this.logger.warn(`acknowledging a pack on ${s.queue} failed (${errorText(e)}); it comes back and is split`));
    for (const m of msgs) this.dispatch(s, settleOn, m, ch);
  }

  /**
   * A pack that came back unacknowledged (its consumer died or left while
   * holding it): its messages go back to the queue as single ones before
   * any of them runs again, so each is retried, counted and parked on its
   * own. If that fails (the broker going away), the pack stays and comes back.
   */
  private async split(ch: Channel, s: Subscription, pack: ConsumeMessage): Promise<void> {
    const msgs = unpack(pack);
    try {
      for (const m of msgs) await this.amqp.sendToQueueConfirmed(this.amqp.names.queue(s.queue), m.content, { ...propertiesForCopy(m), headers: headersForCopy(m, {}) });
      ch.ack(pack);
      messagesHandled.inc({ queue: s.queue, message: 'pack', outcome: 'split' });
      this.logger.log(`a pack of ${msgs.length} came back to ${s.queue}; split into single messages`);
    } catch (e) {
      this.logger.warn(`splitting a pack on ${s.queue} failed (${errorText(e)}); it comes back`);
      try {
        ch.nack(pack, false, true);
      } catch {
        /* channel closed: the broker hands it out again */
      }
    }
  }

  private track(s: Subscription, p: Promise<void>): Promise<void> {
    const t = p.catch((err: unknown) => this.logger.error(`handling on ${s.queue} failed unexpectedly: ${errorText(err)}`)).finally(() => {
      this.inFlight.delete(t);
      s.pending?.delete(t);
    });
    this.inFlight.add(t);
    return t;
  }

  /** Pauses consumption of exactly these own queues (the others resume); a paused queue keeps its channel and loses its consumer. */
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
    // one batch settles on one channel (a pack's messages: on the pack)
    while (n < b.gathered.length && n < this.opts.batches!.maxBatch && b.gathered[n].ch === ch) n++;
    const msgs = b.gathered.splice(0, n).map((g) => g.msg);
    messageBatchSize.observe({ queue: s.queue }, msgs.length);
    b.running = true;
    const handled = msgs.length === 1 ? this.handle(ch, s, msgs[0]) : this.handleBatch(ch, s, msgs);
    void this.track(s, handled).finally(() => {
      b.running = false;
      this.startBatch(s);
    });
  }

  /**
   * Several deliveries of one queue, in their order, in one transaction
   * (BatchScope), then acknowledged together. If the batch fails, nothing of
   * it was kept: each message is then handled on its own, as if it had come
   * alone, so one message's failure is its own and never another's.
   */
  private async handleBatch(ch: Channel, s: Subscription, msgs: ConsumeMessage[]): Promise<void> {
    const ready: Prepared[] = [];
    for (const msg of msgs) {
      const prepared = await this.handling.prepare(ch, s.queue, s.handlers, msg);
      if (prepared) ready.push(prepared);
    }
    if (ready.length === 0) return;
    const results: unknown[] = [];
    try {
      await this.opts.batches!.scope.inBatch(async () => {
        if (!s.batch?.together) {
          for (const r of ready) results.push(await r.run());
          return;
        }
        // started in order, settled all before the batch commits or rolls back
        const settled = await Promise.allSettled(ready.map((r) => r.run()));
        const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
        if (failed) throw failed.reason;
        for (const x of settled) results.push((x as PromiseFulfilledResult<unknown>).value);
      });
    } catch (err) {
      this.logger.log(`a batch of ${ready.length} on ${s.queue} failed (${errorText(err)}); handling each on its own`);
      messagesHandled.inc({ queue: s.queue, message: 'batch', outcome: 'batch_split' }, 1);
      const settled: Array<Promise<void>> = [];
      for (const r of ready) settled.push(this.handling.runAlone(ch, s.queue, r, r.afterEarlier ? [...settled] : []));
      await Promise.all(settled);
      return;
    }
    try {
      ready.forEach((r, i) => this.handling.acked(ch, s.queue, r, results[i]));
    } catch (err) {
      // the channel closed after the commit: the broker redelivers the rest, and their inbox rows make that a no-op
      this.logger.warn(`acknowledging a batch on ${s.queue} failed (${errorText(err)}); its messages come back as duplicates`);
    }
  }

  /** `earlier`: the deliveries of this queue still being handled when this one arrived (kept only where a handler waits for them). */
  private async handle(ch: Channel, s: Subscription, msg: ConsumeMessage, earlier?: Array<Promise<void>>): Promise<void> {
    const prepared = await this.handling.prepare(ch, s.queue, s.handlers, msg);
    if (prepared) await this.handling.runAlone(ch, s.queue, prepared, earlier);
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
