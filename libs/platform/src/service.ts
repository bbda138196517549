import { DynamicModule, INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TOPOLOGY } from '@orders/contracts';
import { MessagingModule, startConsumers } from '@orders/messaging';
import { migrateService, serviceDataSourceOptions, usePreparedStatements } from '@orders/persistence';
import type { MigrationInterface } from 'typeorm';
import { ADMIN_TOKEN } from './admin.guard';
import { createHttpApp, HttpAppOptions } from './bootstrap';
import { BaseEnv } from './config';
import { HealthModule } from './health';
import { announceDeadLetter, describeMessage, PLATFORM_CODEC } from './messages';
import { MetricsModule } from './metrics';
import { OperatorModule } from './operator';

/** What makes one service: its name, schema migrations and the queues it consumes (with their concurrency). */
export interface ServiceSpec {
  name: string;
  migrations: Array<new () => MigrationInterface>;
  /** Own queue → messages in flight (prefetch): the bounded concurrency of each. */
  queues: Readonly<Record<string, number>>;
  /** Delay tiers of deferred messages (default: the retry delays). */
  deferDelaysMs?: readonly number[];
}

/**
 * The modules every service runs: its database (TypeORM, its own schema),
 * messaging over the platform's topology, health, metrics and the operators'
 * queue tools (dead letters, pausing) for its own queues.
 */
export function serviceModules(cfg: BaseEnv, spec: ServiceSpec): DynamicModule[] {
  const ownQueues = Object.keys(spec.queues);
  usePreparedStatements(cfg.DB_PREPARED_STATEMENTS);
  return [
    {
      ...TypeOrmModule.forRoot({
        ...serviceDataSourceOptions({
          url: cfg.DATABASE_URL, schema: cfg.DB_SCHEMA, migrations: spec.migrations, poolSize: cfg.DB_POOL_SIZE, applicationName: spec.name,
          statementTimeoutMs: cfg.DB_STATEMENT_TIMEOUT_MS,
        }),
        retryAttempts: 1000,
        retryDelay: 1000,
      }),
    },
    MessagingModule.forRoot({
      rabbitmqUrl: cfg.RABBITMQ_URL,
      queueType: cfg.QUEUE_TYPE,
      packMax: cfg.MESSAGE_PACK_MAX,
      prefix: cfg.MQ_PREFIX,
      serviceName: spec.name,
      databaseUrl: cfg.DATABASE_URL,
      schema: cfg.DB_SCHEMA,
      topology: TOPOLOGY,
      codec: PLATFORM_CODEC,
      ownQueues,
      retryDelaysMs: cfg.retryDelaysMs,
      deferDelaysMs: spec.deferDelaysMs,
      consumers: { prefetch: spec.queues, defaultPrefetch: Math.max(1, ...Object.values(spec.queues)), maxBatch: cfg.BATCH_MAX_MESSAGES },
      announceDeadLetter,
      describe: describeMessage,
    }),
    HealthModule.forRoot({ database: true, broker: true }),
    { module: MetricsModule },
    OperatorModule.forRoot(),
    { module: class AdminTokenModule {}, global: true, providers: [{ provide: ADMIN_TOKEN, useValue: cfg.ADMIN_TOKEN }], exports: [ADMIN_TOKEN] },
  ];
}

export interface StartOptions {
  http?: Omit<HttpAppOptions, 'serviceName' | 'logLevel'>;
  /** Before the app initialises: routes and hooks beyond the modules' (CORS, OpenAPI). */
  configure?: (app: NestFastifyApplication) => void;
  /** Once it has initialised, before it listens. */
  initialised?: (app: NestFastifyApplication) => void;
}

/**
 * Migrates, builds and starts one service: the HTTP app, the consumers of
 * its queues, then listening. Used by each service's main.ts and by its
 * integration tests.
 */
export async function startService(module: DynamicModule, cfg: BaseEnv, spec: ServiceSpec, o: StartOptions = {}): Promise<NestFastifyApplication> {
  await migrateService({ url: cfg.DATABASE_URL, schema: cfg.DB_SCHEMA, migrations: spec.migrations });
  const app = await createHttpApp(module, { serviceName: spec.name, logLevel: cfg.LOG_LEVEL, ...o.http });
  o.configure?.(app);
  await startConsumers(app as INestApplication);
  await app.init();
  o.initialised?.(app);
  await app.listen(cfg.PORT, cfg.HOST);
  return app;
}
