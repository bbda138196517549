import { BeforeApplicationShutdown, DynamicModule, Global, Inject, Injectable, Module, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { QueueName } from '@orders/contracts';
import { DataSource } from 'typeorm';
import { AmqpConnection } from './amqp-connection';
import { ConsumptionControl } from './consumption-control';
import { InboxPruner } from './inbox-pruner';
import { OutboxRelay } from './outbox-relay';
import { QueueMetrics } from './queue-metrics';
import type { QueueType } from './topology';
import { UnitOfWork } from './unit-of-work';

export interface MessagingOptions {
  rabbitmqUrl: string;
  prefix: string;
  serviceName: string;
  databaseUrl: string;
  schema: string;
  ownQueues: readonly QueueName[];
  retryDelaysMs: readonly number[];
  /** Delay tiers for deferred messages ('defer' disposition); the n-th deferral waits the n-th (the last one repeats). Default: retryDelaysMs. */
  deferDelaysMs?: readonly number[];
  /** false for a service that never writes to an outbox. */
  relay?: boolean;
  /** Inbox rows older than this are deleted (the de-duplication window; default 168 h). */
  inboxRetentionHours?: number;
  /** QUEUE_TYPE: classic (default) or quorum. */
  queueType?: QueueType;
  /** How long one broker/outbox look-up serves /metrics scrapes (default 1000 ms). */
  metricsCacheMs?: number;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

@Injectable()
class MessagingLifecycle implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly amqp: AmqpConnection,
    private readonly relay: OutboxRelay,
    private readonly metrics: QueueMetrics,
    private readonly pruner: InboxPruner,
    private readonly consumption: ConsumptionControl,
    @Inject(MESSAGING_OPTIONS) private readonly o: MessagingOptions,
  ) {}
  async onModuleInit(): Promise<void> {
    await this.amqp.connect();
  }
  async onApplicationBootstrap(): Promise<void> {
    if (this.o.relay !== false) await this.relay.start();
    await this.metrics.start();
    this.pruner.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    this.metrics.stop();
    if (this.o.relay !== false) await this.relay.stop();
    await this.pruner.stop();
    await this.consumption.stop();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.amqp.close();
  }
}

/** Broker connection, outbox relay, unit of work and queue/outbox gauges for one service. Needs TypeOrmModule's DataSource. */
@Global()
@Module({})
export class MessagingModule {
  static forRoot(o: MessagingOptions): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: o },
        {
          provide: AmqpConnection,
          useFactory: () =>
            new AmqpConnection({
              url: o.rabbitmqUrl,
              prefix: o.prefix,
              connectionName: o.serviceName,
              ownQueues: o.ownQueues,
              retryDelaysMs: o.retryDelaysMs,
              deferDelaysMs: o.deferDelaysMs,
              queueType: o.queueType,
            }),
        },
        { provide: UnitOfWork, useFactory: (ds: DataSource, relay: OutboxRelay) => new UnitOfWork(ds, o.schema, relay), inject: [DataSource, OutboxRelay] },
        {
          provide: OutboxRelay,
          useFactory: (ds: DataSource, amqp: AmqpConnection) => new OutboxRelay(ds, amqp, { databaseUrl: o.databaseUrl, schema: o.schema }),
          inject: [DataSource, AmqpConnection],
        },
        {
          provide: QueueMetrics,
          useFactory: (ds: DataSource, amqp: AmqpConnection) =>
            new QueueMetrics(amqp, ds, { ownQueues: o.ownQueues, outbox: o.relay !== false, cacheMs: o.metricsCacheMs }),
          inject: [DataSource, AmqpConnection],
        },
        {
          provide: InboxPruner,
          useFactory: (ds: DataSource) => new InboxPruner(ds, { retentionHours: o.inboxRetentionHours ?? 168, intervalMs: 15 * 60 * 1000 }),
          inject: [DataSource],
        },
        {
          provide: ConsumptionControl,
          useFactory: (ds: DataSource) => new ConsumptionControl(ds, { databaseUrl: o.databaseUrl, schema: o.schema, ownQueues: o.ownQueues }),
          inject: [DataSource],
        },
        MessagingLifecycle,
      ],
      exports: [AmqpConnection, UnitOfWork, OutboxRelay, InboxPruner, QueueMetrics, ConsumptionControl, MESSAGING_OPTIONS],
    };
  }
}
