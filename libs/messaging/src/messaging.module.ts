import { BeforeApplicationShutdown, DynamicModule, Global, Inject, Injectable, Module, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { QueueName } from '@orders/contracts';
import { DataSource } from 'typeorm';
import { AmqpConnection } from './amqp-connection';
import { OutboxRelay } from './outbox-relay';
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
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

@Injectable()
class MessagingLifecycle implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly amqp: AmqpConnection,
    private readonly relay: OutboxRelay,
    @Inject(MESSAGING_OPTIONS) private readonly o: MessagingOptions,
  ) {}
  async onModuleInit(): Promise<void> {
    await this.amqp.connect();
  }
  async onApplicationBootstrap(): Promise<void> {
    if (this.o.relay !== false) await this.relay.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    if (this.o.relay !== false) await this.relay.stop();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.amqp.close();
  }
}

/** Broker connection, outbox relay and unit of work for one service. Needs TypeOrmModule's DataSource. */
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
            }),
        },
        { provide: UnitOfWork, useFactory: (ds: DataSource) => new UnitOfWork(ds, o.schema), inject: [DataSource] },
        {
          provide: OutboxRelay,
          useFactory: (ds: DataSource, amqp: AmqpConnection) => new OutboxRelay(ds, amqp, { databaseUrl: o.databaseUrl, schema: o.schema }),
          inject: [DataSource, AmqpConnection],
        },
        MessagingLifecycle,
      ],
      exports: [AmqpConnection, UnitOfWork, OutboxRelay, MESSAGING_OPTIONS],
    };
  }
}
