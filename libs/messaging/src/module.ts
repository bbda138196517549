import {
  BeforeApplicationShutdown, DynamicModule, Global, Injectable, INestApplication, Module, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit,
} from '@nestjs/common';
import { poolOf, sqlOf } from '@orders/persistence';
import { DataSource } from 'typeorm';
import { AmqpConnection } from './connection';
import { ConsumptionControl } from './consumption-control';
import { DatabaseWatch } from './database-watch';
import { DeadLetters } from './dead-letters';
import { AnnounceDeadLetter, FailureRouter } from './delivery';
import { Handling } from './handling';
import { CrashCounts, InboxPruner } from './inbox';
import { Outbox } from './outbox';
import { QueueMetrics } from './queue-metrics';
import { OutboxRelay } from './relay';
import { Codec, Envelope, MessageName, PayloadOf, routingKeyOf, Topology } from './schema';
import type { QueueType } from './topology';
import { AmqpTransport } from './transport';
import { UnitOfWork } from './unit-of-work';

/**
 * A blip of the database (a connection refused while it restarts, 'too many
 * clients', a deadlock) would otherwise send a message through the defer
 * tiers, and every message behind it would overtake it. Held in place for
 * these ~1.5 s, the message keeps its turn; a longer outage defers it.
 */
const IN_PLACE_RETRY_MS: readonly number[] = [100, 400, 1000];
const DATABASE_WAIT_MAX_MS = 5 * 60_000;

export interface MessagingOptions {
  rabbitmqUrl: string;
  prefix: string;
  serviceName: string;
  /** For the LISTEN connections (outbox relay, pausing); the pool is the DataSource's. */
  databaseUrl: string;
  schema: string;
  /** The application's messages and queues, and how envelopes are made and read. */
  topology: Topology;
  codec: Codec;
  ownQueues: readonly string[];
  /** Delay before each retry; a message is tried `retryDelaysMs.length + 1` times, then dead-lettered. */
  retryDelaysMs: readonly number[];
  /** Delay tiers for deferred messages; the n-th deferral waits the n-th (the last one repeats). Default: retryDelaysMs. */
  deferDelaysMs?: readonly number[];
  /** Inbox rows older than this are deleted (the de-duplication window; default 168 h). */
  inboxRetentionHours?: number;
  /** QUEUE_TYPE: classic (default) or quorum. */
  queueType?: QueueType;
  /**
   * Most messages of one routing key published as one broker message, a
   * pack (default 1: none). Every consumer of the queues they reach must
   * read packs (this library does since it has them).
   */
  packMax?: number;
  /** The outbox relay's safety-net sweep, for rows no NOTIFY or timer woke it for (default 10 000 ms). */
  relaySweepMs?: number;
  /** How long one broker/outbox look-up serves /metrics scrapes (default 1000 ms). */
  metricsCacheMs?: number;
  consumers?: {
    /** Messages in flight per queue (channel prefetch): the bounded concurrency. */
    prefetch?: Readonly<Record<string, number>>;
    defaultPrefetch?: number;
    /** Queues whose handlers are all batchable are consumed in batches of up to this many (1: never). */
    maxBatch?: number;
    inPlaceRetryMs?: readonly number[];
    /**
     * How long a message its database fails is held, unacknowledged, waiting
     * for the database to come back (then it runs at once) before it is
     * deferred (default 5 minutes; keep it well under the broker's
     * consumer_timeout, 30 minutes by default).
     */
    databaseWaitMaxMs?: number;
    /** A message that ended its process this often while running alone is dead-lettered (default 3). */
    poisonCrashes?: number;
  };
  /** The message announcing a dead letter before it is parked, if any (so whatever it belonged to can still end). */
  announceDeadLetter?: AnnounceDeadLetter;
  /** Fields for the log lines written while a message is handled (see currentDelivery). */
  describe?: (env: Envelope) => Readonly<Record<string, string>>;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

/**
 * What a service asks of the broker beyond publishing through the outbox:
 * a request that waits for its consumer's answer, run-time bindings,
 * readiness, and (tests, shutdown) waiting until everything written has left.
 */
@Injectable()
export class Messaging {
  constructor(private readonly amqp: AmqpConnection, private readonly outbox: Outbox, private readonly relay: OutboxRelay, private readonly pruner: InboxPruner) {}

  /**
   * Publishes a message straight away (persistent, confirmed; no database
   * write precedes it, so no outbox) and waits up to `timeoutMs` for what its
   * handler returned. Undefined if no answer came in time: the message stays
   * queued and is handled later all the same.
   */
  async request<N extends MessageName>(name: N, payload: PayloadOf<N>, timeoutMs: number, correlationId?: string): Promise<unknown> {
    const env = this.amqp.codec.create(name, payload, { correlationId });
    return this.amqp.request({ id: env.id, name, routingKey: routingKeyOf(this.amqp.topology, name, payload), raw: JSON.stringify(env) }, timeoutMs);
  }

  /** Binds or unbinds a queue to messages of a name whose routing key ends in `route` (routes that depend on data). */
  setBinding(queue: string, message: MessageName, route: string, bound: boolean): Promise<void> {
    return this.amqp.setBinding(queue, message, route, bound);
  }

  get isConnected(): boolean {
    return this.amqp.isConnected;
  }

  /** This service's queues without a live consumer right now. */
  unconsumedQueues(): string[] {
    return this.amqp.unconsumedQueues();
  }

  /** Deletes inbox rows past the de-duplication window now (it also happens every 15 minutes); returns how many. */
  pruneInbox(): Promise<number> {
    return this.pruner.prune();
  }

  /** Resolves once everything committed so far has been published. */
  async flush(): Promise<void> {
    await this.outbox.flush();
    await this.relay.flush();
  }
}

@Injectable()
class MessagingLifecycle implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly amqp: AmqpConnection,
    private readonly relay: OutboxRelay,
    private readonly outbox: Outbox,
    private readonly metrics: QueueMetrics,
    private readonly pruner: InboxPruner,
    private readonly consumption: ConsumptionControl,
  ) {}
  async onModuleInit(): Promise<void> {
    await this.amqp.connect();
  }
  async onApplicationBootstrap(): Promise<void> {
    await this.relay.start();
    await this.metrics.start();
    this.pruner.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    this.metrics.stop();
    await this.outbox.flush();
    await this.relay.stop();
    await this.pruner.stop();
    await this.consumption.stop();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.amqp.close();
  }
}

/** Broker connection, outbox and relay, unit of work, inbox pruning, queue gauges and operators' tools for one service. Needs TypeOrmModule's DataSource. */
@Global()
@Module({})
export class MessagingModule {
  static forRoot(o: MessagingOptions): DynamicModule {
    const pool = (ds: DataSource) => poolOf(ds);
    return {
      module: MessagingModule,
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: o },
        {
          provide: AmqpConnection,
          useFactory: () =>
            new AmqpConnection({
              url: o.rabbitmqUrl, prefix: o.prefix, connectionName: o.serviceName, topology: o.topology, codec: o.codec,
              ownQueues: o.ownQueues, retryDelaysMs: o.retryDelaysMs, deferDelaysMs: o.deferDelaysMs, queueType: o.queueType,
            }),
        },
        {
          provide: Outbox,
          useFactory: (ds: DataSource, amqp: AmqpConnection) => new Outbox(sqlOf(pool(ds)), amqp, o.codec, o.topology, `outbox_${o.schema}`, o.packMax ?? 1),
          inject: [DataSource, AmqpConnection],
        },
        {
          provide: OutboxRelay,
          useFactory: (ds: DataSource, amqp: AmqpConnection, outbox: Outbox) => {
            const relay = new OutboxRelay(pool(ds), amqp, {
              databaseUrl: o.databaseUrl, channel: `outbox_${o.schema}`, packMax: o.packMax, topology: o.topology, sweepMs: o.relaySweepMs,
            });
            outbox.relayWake = (ms, ids) => relay.wakeIn(ms, ids);
            outbox.relayForget = (ids) => relay.withdrawn(ids);
            return relay;
          },
          inject: [DataSource, AmqpConnection, Outbox],
        },
        { provide: UnitOfWork, useFactory: (ds: DataSource, outbox: Outbox) => new UnitOfWork(pool(ds), outbox), inject: [DataSource, Outbox] },
        {
          provide: QueueMetrics,
          useFactory: (ds: DataSource, amqp: AmqpConnection) => new QueueMetrics(amqp, sqlOf(pool(ds)), { ownQueues: o.ownQueues, outbox: true, cacheMs: o.metricsCacheMs }),
          inject: [DataSource, AmqpConnection],
        },
        {
          provide: InboxPruner,
          useFactory: (ds: DataSource) => new InboxPruner(sqlOf(pool(ds)), { retentionHours: o.inboxRetentionHours ?? 168, intervalMs: 15 * 60 * 1000 }),
          inject: [DataSource],
        },
        {
          provide: ConsumptionControl,
          useFactory: (ds: DataSource) => new ConsumptionControl(sqlOf(pool(ds)), { databaseUrl: o.databaseUrl, schema: o.schema, ownQueues: o.ownQueues }),
          inject: [DataSource],
        },
        { provide: DeadLetters, useFactory: (amqp: AmqpConnection) => new DeadLetters(amqp, o.ownQueues), inject: [AmqpConnection] },
        Messaging,
        MessagingLifecycle,
      ],
      exports: [UnitOfWork, Messaging, DeadLetters, ConsumptionControl, MESSAGING_OPTIONS, AmqpConnection, OutboxRelay, Outbox, InboxPruner],
    };
  }
}

/**
 * Starts consuming this service's queues: every @OnMessage handler of the
 * application is registered (each message of an own queue must have exactly
 * one), operator-paused queues stay paused. Call once the app is created.
 */
export async function startConsumers(app: INestApplication): Promise<void> {
  const o = app.get<MessagingOptions>(MESSAGING_OPTIONS);
  const amqp = app.get(AmqpConnection);
  const uow = app.get(UnitOfWork);
  const c = o.consumers ?? {};
  let transport: AmqpTransport | undefined;
  const pool = poolOf(app.get(DataSource));
  const handling = new Handling({
    amqp,
    failures: new FailureRouter(amqp, o.retryDelaysMs, o.announceDeadLetter),
    crashes: new CrashCounts(sqlOf(pool)),
    poisonCrashes: c.poisonCrashes ?? 3,
    inPlaceRetryMs: c.inPlaceRetryMs ?? IN_PLACE_RETRY_MS,
    database: { watch: new DatabaseWatch(() => pool.query('SELECT 1'), () => transport?.isStopping ?? false), maxWaitMs: c.databaseWaitMaxMs ?? DATABASE_WAIT_MAX_MS },
    describe: o.describe,
    isStopping: () => transport?.isStopping ?? false,
  });
  transport = new AmqpTransport(amqp, handling, {
    prefetch: c.prefetch ?? {},
    defaultPrefetch: c.defaultPrefetch ?? 8,
    batches: { scope: uow, maxBatch: c.maxBatch ?? 1 },
  }, o.ownQueues);
  await app.get(ConsumptionControl).attach(transport); // queues an operator paused stay paused
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: false });
  await app.startAllMicroservices();
}
