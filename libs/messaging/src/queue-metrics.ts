import { Logger } from '@nestjs/common';
import type { Sql } from '@orders/persistence';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { Gauge, Histogram } from 'prom-client';
import type { AmqpConnection } from './connection';
import { ATTEMPT_HEADER, DEAD_LETTER_HEADERS, DEFERRALS_HEADER, PUBLISHED_AT_HEADER, REPLAYED_AT_HEADER } from './delivery-headers';

export const messageWaitSeconds = new Histogram({
  name: 'orders_message_wait_seconds',
  help: 'Queue lag: from the outbox relay publishing a message to the start of its first handling',
  labelNames: ['queue'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
});

/**
 * Observes queue lag at the start of handling. Only a message's first
 * delivery from its queue counts: a retried, deferred or replayed one carries
 * the original stamp and would report its deliberate delay as lag.
 */
export function observeMessageWait(queue: string, msg: ConsumeMessage): void {
  const h = msg.properties.headers;
  const at = Number(h?.[PUBLISHED_AT_HEADER]);
  if (!at || h?.[ATTEMPT_HEADER] || h?.[DEFERRALS_HEADER] || h?.[DEAD_LETTER_HEADERS.at] || h?.[REPLAYED_AT_HEADER] || msg.fields.redelivered) return;
  messageWaitSeconds.observe({ queue }, Math.max(0, Date.now() - at) / 1000);
}

interface BrokerSnapshot {
  queues: Array<{ queue: string; messages: number; consumers: number; deadLetters: number }>;
}
interface OutboxSnapshot {
  pending: number;
  oldestSeconds: number;
}

export interface QueueMetricsOptions {
  ownQueues: readonly string[];
  /** false for a service without an outbox relay (no outbox gauges). */
  outbox: boolean;
  /** A scrape within this long of the previous one reuses its figures. */
  cacheMs?: number;
  /** A broker or database answer slower than this leaves its gauges empty for this scrape. */
  timeoutMs?: number;
}

/** Every started source in this process (normally one per service). */
const sources = new Set<QueueMetrics>();

async function brokerSnapshots(): Promise<BrokerSnapshot[]> {
  const all = await Promise.all([...sources].map((s) => s.broker()));
  return all.filter((s): s is BrokerSnapshot => !!s);
}

/** The collect() of a per-queue gauge read from the broker snapshot (one cached look-up shared by the three). */
function fromBroker(pick: (q: BrokerSnapshot['queues'][number]) => number) {
  return async function (this: Gauge<'queue'>): Promise<void> {
    const snaps = await brokerSnapshots();
    this.reset();
    for (const s of snaps) for (const q of s.queues) this.set({ queue: q.queue }, pick(q));
  };
}
new Gauge({ name: 'orders_queue_messages', help: 'Messages ready in each queue this service consumes (from the broker)', labelNames: ['queue'] as const, collect: fromBroker((q) => q.messages) });
new Gauge({ name: 'orders_queue_consumers', help: 'Consumers attached to each queue this service consumes (all instances)', labelNames: ['queue'] as const, collect: fromBroker((q) => q.consumers) });
new Gauge({ name: 'orders_dead_letter_messages', help: 'Messages in the dead-letter queue of each queue this service consumes', labelNames: ['queue'] as const, collect: fromBroker((q) => q.deadLetters) });

/** The outbox figures; null when this process has no outbox (nothing pending), undefined while the database cannot tell. */
async function outboxSnapshot(): Promise<OutboxSnapshot | null | undefined> {
  for (const s of sources) {
    const snap = s.outbox();
    if (snap !== null) return snap;
  }
  return null;
}
new Gauge({
  name: 'orders_outbox_pending',
  help: 'Outbox rows not yet published to the broker (0 for a service without outbox; NaN while the database cannot be read)',
  async collect() {
    const snap = await outboxSnapshot();
    this.set(snap === null ? 0 : snap ? snap.pending : NaN);
  },
});
new Gauge({
  name: 'orders_outbox_oldest_seconds',
  help: 'Age of the oldest outbox row not yet published; 0 when the outbox is empty (NaN while the database cannot be read)',
  async collect() {
    const snap = await outboxSnapshot();
    this.set(snap === null ? 0 : snap ? snap.oldestSeconds : NaN);
  },
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * The broker- and outbox-derived gauges of one service, computed when
 * Prometheus scrapes (never on a timer): per own queue one passive
 * `checkQueue` of the queue and of its dead-letter queue on one shared
 * channel (reopened after it closed), and one query on the outbox. Figures
 * are reused for `cacheMs`, so several gauges (and scrapers) share one
 * look-up. A broker or database that is down or slow leaves the broker
 * gauges empty, or the outbox gauges NaN, and never fails `/metrics`.
 */
export class QueueMetrics {
  private readonly logger = new Logger('QueueMetrics');
  private model?: ChannelModel;
  private ch?: Promise<Channel>;
  private brokerCache?: { at: number; value: Promise<BrokerSnapshot | undefined> };
  private outboxCache?: { at: number; value: Promise<OutboxSnapshot | undefined> };

  constructor(private readonly amqp: AmqpConnection, private readonly db: Sql, private readonly o: QueueMetricsOptions) {}

  async start(): Promise<void> {
    await this.amqp.onConnected(async (model) => {
      this.model = model;
      this.ch = undefined;
    });
    sources.add(this);
  }

  stop(): void {
    sources.delete(this);
    const ch = this.ch;
    this.ch = undefined;
    void ch?.then((c) => c.close()).catch(() => undefined);
  }

  /** Depths, consumers and dead letters of the own queues; undefined while the broker cannot tell. */
  broker(): Promise<BrokerSnapshot | undefined> {
    if (!this.brokerCache || Date.now() - this.brokerCache.at >= (this.o.cacheMs ?? 1000)) {
      this.brokerCache = { at: Date.now(), value: this.readBroker() };
    }
    return this.brokerCache.value;
  }

  /** Outbox backlog; null for a service without one, undefined while the database cannot tell. */
  outbox(): Promise<OutboxSnapshot | undefined> | null {
    if (!this.o.outbox) return null;
    if (!this.outboxCache || Date.now() - this.outboxCache.at >= (this.o.cacheMs ?? 1000)) {
      this.outboxCache = { at: Date.now(), value: this.readOutbox() };
    }
    return this.outboxCache.value;
  }

  private channel(): Promise<Channel> {
    if (!this.ch) {
      if (!this.model || !this.amqp.isConnected) return Promise.reject(new Error('broker not connected'));
      const opening = this.model.createChannel().then((c) => {
        c.on('error', (err: Error) => this.logger.debug(`metrics channel: ${err.message}`));
        c.on('close', () => {
          if (this.ch === opening) this.ch = undefined;
        });
        return c;
      });
      opening.catch(() => {
        if (this.ch === opening) this.ch = undefined;
      });
      this.ch = opening;
    }
    return this.ch;
  }

  private async readBroker(): Promise<BrokerSnapshot | undefined> {
    try {
      return await withTimeout(
        (async () => {
          const ch = await this.channel();
          const queues: BrokerSnapshot['queues'] = [];
          for (const queue of this.o.ownQueues) {
            const main = await ch.checkQueue(this.amqp.names.queue(queue));
            const dlq = await ch.checkQueue(this.amqp.names.deadLetterQueue(queue));
            queues.push({ queue, messages: main.messageCount, consumers: main.consumerCount, deadLetters: dlq.messageCount });
          }
          return { queues };
        })(),
        this.o.timeoutMs ?? 2000,
        'queue check',
      );
    } catch (e) {
      this.logger.debug(`queue metrics unavailable: ${(e as Error).message}`);
      return undefined;
    }
  }

  private async readOutbox(): Promise<OutboxSnapshot | undefined> {
    try {
      const rows = await withTimeout(
        this.db.query<{ n: number; age: number | null }>('SELECT count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float8 AS age FROM outbox'),
        this.o.timeoutMs ?? 2000,
        'outbox query',
      );
      return { pending: rows[0].n, oldestSeconds: Math.max(0, rows[0].age ?? 0) };
    } catch (e) {
      this.logger.debug(`outbox metrics unavailable: ${(e as Error).message}`);
      return undefined;
    }
  }
}
