import { Logger } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import type { Channel, ConsumeMessage } from 'amqplib';
import { isObservable, lastValueFrom } from 'rxjs';
import type { AmqpConnection } from './connection';
import type { DatabaseWatch } from './database-watch';
import { currentDeliveryStore } from './context';
import { deliveryHeaders, headersForCopy, propertiesForCopy, REROUTED_FROM_HEADER } from './delivery-headers';
import { Delivery, FailureRouter, MessageContext } from './delivery';
import { isDatabaseUnavailable } from '@orders/persistence';
import { errorText, isDependencyUnavailable, UnreadableMessage } from './errors';
import type { CrashCounts } from './inbox';
import { messageHandlingSeconds, messagesHandled } from './metrics';
import type { OnMessageExtras } from './on-message';
import { observeMessageWait } from './queue-metrics';
import { Envelope, queuesReceiving, routingKeyOf } from './schema';
import { withConsumerSpan } from './tracing';

/** A delivery ready to run: read, validated, its handler found. */
export interface Prepared extends Delivery {
  env: Envelope;
  afterEarlier: boolean;
  /** It came back unacknowledged before: it runs alone, and its crashes are counted (CrashCounts). */
  returned: boolean;
  started: bigint;
  /** Runs the handler; resolves to what it returned (a reply for a requester). */
  run: () => Promise<unknown>;
}

export interface HandlingOptions {
  /** Handler results become replies through it (AmqpConnection.reply). */
  amqp: AmqpConnection;
  failures: FailureRouter;
  crashes: CrashCounts;
  /** Crashes while running alone after which a returned message is dead-lettered without running again. */
  poisonCrashes: number;
  /** Pauses before handling a message again, in place, while a dependency fails it. */
  inPlaceRetryMs: readonly number[];
  /**
   * Past those pauses, a message its database fails waits in place for the
   * database to come back (then runs again at once), at most `maxWaitMs`;
   * only then is it deferred.
   */
  database?: { watch: DatabaseWatch; maxWaitMs: number };
  /** Log fields of a message (the application's). */
  describe?: (env: Envelope) => Readonly<Record<string, string>>;
  isStopping: () => boolean;
}

/** Runs one delivery's handler: reading it, re-routing what this queue no longer consumes, in-place retries, ack or failure, replies. */
export class Handling {
  private readonly logger = new Logger('AmqpTransport');

  constructor(private readonly o: HandlingOptions) {}

  /**
   * Reads and validates a delivery and finds its handler. A delivery that
   * cannot be handled here is dealt with (unreadable: dead-lettered; no
   * longer consumed here: moved to where it is) and undefined returned.
   */
  async prepare(ch: Channel, queue: string, handlers: ReadonlyMap<string, MessageHandler>, msg: ConsumeMessage): Promise<Prepared | undefined> {
    const { attempt, firstAttemptAt, deferrals, returned } = deliveryHeaders(msg);
    const started = process.hrtime.bigint();
    observeMessageWait(queue, msg);
    let name = msg.properties.type ?? msg.fields.routingKey;
    let env: Envelope | undefined;
    try {
      try {
        env = this.o.amqp.codec.parse(msg.content);
      } catch (e) {
        throw new UnreadableMessage(e);
      }
      name = env.name;
      const handler = handlers.get(env.name);
      if (!handler) {
        if (await this.reroute(ch, queue, msg, env)) return undefined;
        throw Object.assign(new Error(`no handler for ${env.name} on ${queue}, and no queue consumes it now`), { disposition: 'dead-letter' });
      }
      const current = { queue, messageId: env.id, name: env.name, fields: this.o.describe?.(env) ?? {} };
      const ctx = new MessageContext(queue, attempt, msg, firstAttemptAt, deferrals);
      const parsed = env;
      const run = () =>
        withConsumerSpan(queue, parsed.name, msg.properties.headers, () =>
          currentDeliveryStore.run(current, () => (handler(parsed, ctx) as Promise<unknown>)).then((r) => settle(r)),
        );
      const afterEarlier = !!(handler.extras as Partial<OnMessageExtras>).afterEarlier;
      return { msg, name, env, attempt, firstAttemptAt, deferrals, afterEarlier, returned, started, run };
    } catch (err) {
      await this.o.failures.route(ch, queue, { msg, name, env, attempt, firstAttemptAt, deferrals }, err);
      messageHandlingSeconds.observe({ queue, message: name }, Number(process.hrtime.bigint() - started) / 1e9);
      return undefined;
    }
  }

  /** Runs one prepared delivery in its own transaction (retried in place while a dependency blips), then acks or fails it. */
  async runAlone(ch: Channel, queue: string, r: Prepared, earlier?: Array<Promise<void>>): Promise<void> {
    try {
      // delivered in the queue's order but handled side by side: this one starts once those before it have settled
      if (earlier?.length && r.afterEarlier) await Promise.allSettled(earlier);
      const result = r.returned ? await this.runCounted(queue, r) : await this.withInPlaceRetries(r.run, queue, r.name, r.env.id);
      this.acked(ch, queue, r, result);
    } catch (err) {
      await this.o.failures.route(ch, queue, r, err);
      messageHandlingSeconds.observe({ queue, message: r.name }, Number(process.hrtime.bigint() - r.started) / 1e9);
    }
  }

  acked(ch: Channel, queue: string, r: Prepared, result?: unknown): void {
    ch.ack(r.msg);
    this.o.amqp.reply(r.msg, result);
    messagesHandled.inc({ queue, message: r.name, outcome: 'ack' });
    messageHandlingSeconds.observe({ queue, message: r.name }, Number(process.hrtime.bigint() - r.started) / 1e9);
  }

  /**
   * A message that came back unacknowledged: counted as running before its
   * handler starts and uncounted once it is answered, so only the crashes it
   * was running for add up. Past `poisonCrashes` it is dead-lettered (and
   * announced) without running again.
   */
  private async runCounted(queue: string, r: Prepared): Promise<unknown> {
    const crashes = await this.o.crashes.starting(r.env.id, queue);
    if (crashes >= this.o.poisonCrashes) {
      await this.o.crashes.finished(r.env.id, queue).catch(() => undefined);
      throw Object.assign(new Error(`its handling ended the process ${crashes} times`), { disposition: 'dead-letter' });
    }
    try {
      return await this.withInPlaceRetries(r.run, queue, r.name, r.env.id);
    } finally {
      await this.o.crashes.finished(r.env.id, queue).catch(() => undefined); // left behind: pruned with the inbox
    }
  }

  /**
   * A message this queue no longer consumes (its binding was retired, or a
   * replay sent it back here): moved to every queue that receives it now.
   * False if none does.
   */
  private async reroute(ch: Channel, queue: string, msg: ConsumeMessage, env: Envelope): Promise<boolean> {
    // its routing key as published (a retried copy's is its queue's name): from the message itself
    const to = queuesReceiving(this.o.amqp.topology, routingKeyOf(this.o.amqp.topology, env.name, env.payload)).filter((q) => q !== queue);
    if (to.length === 0) return false;
    const headers = headersForCopy(msg, { [REROUTED_FROM_HEADER]: queue });
    for (const q of to) await this.o.amqp.sendToQueueConfirmed(this.o.amqp.names.queue(q), msg.content, { ...propertiesForCopy(msg), headers });
    ch.ack(msg);
    this.logger.log(`${msg.properties.type ?? msg.fields.routingKey} ${msg.properties.messageId ?? ''}: no longer consumed on ${queue}; moved to ${to.join(', ')}`);
    messagesHandled.inc({ queue, message: msg.properties.type ?? msg.fields.routingKey, outcome: 'rerouted' });
    return true;
  }

  /**
   * Runs `run`, again after each pause while a dependency fails it, then
   * (its database down) again as soon as the database is back, within the
   * wait allowed; not while the service stops.
   */
  private async withInPlaceRetries<T>(run: () => Promise<T>, queue: string, name: string, id: string): Promise<T> {
    const pauses = this.o.inPlaceRetryMs;
    let deadline: number | undefined;
    for (let i = 0; ; i++) {
      try {
        return await run();
      } catch (err) {
        if (this.o.isStopping() || !isDependencyUnavailable(err) || (err as { disposition?: unknown }).disposition) throw err;
        if (i < pauses.length) {
          this.logger.log(`${name} ${id}: ${errorText(err)}; again in ${pauses[i]} ms, in place`);
          messagesHandled.inc({ queue, message: name, outcome: 'retry_in_place' });
          await new Promise((r) => setTimeout(r, pauses[i]));
          continue;
        }
        const db = this.o.database;
        if (!db || !isDatabaseUnavailable(err)) throw err;
        if (deadline === undefined) {
          deadline = Date.now() + db.maxWaitMs;
          this.logger.warn(`${name} ${id}: the database is unavailable (${errorText(err)}); held until it is back (at most ${db.maxWaitMs} ms)`);
        }
        messagesHandled.inc({ queue, message: name, outcome: 'wait_for_database' });
        if (Date.now() >= deadline || !(await db.watch.whenBack(deadline))) throw err;
      }
    }
  }
}

/** A Nest handler's result: a value, a promise or an observable (its last value). */
async function settle(result: unknown): Promise<unknown> {
  const r: unknown = await result;
  return isObservable(r) ? lastValueFrom(r, { defaultValue: undefined }) : r;
}
