import { INestApplication, LogLevel, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { migrateService, serviceDataSourceOptions } from '@orders/persistence';
import { createTestDatabase, deleteBrokerTopology, TcpProxy, TEST_RABBITMQ_URL, TestBus, uniqueName } from '@orders/testing';
import * as amqp from 'amqplib';
import { Client } from 'pg';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { MESSAGING_MIGRATIONS, MessagingModule, MessagingOptions, startConsumers } from '../src/index';
import { TOY_BUS_CODEC, TOY_CODEC } from './toy-codec';
import { announceDeadLetter, CONSUMERS, Work } from './toy-consumers';
import { TOPOLOGY, TOY_QUEUES, ToyMessageName, ToyMessages, ToyQueue } from './toy-messages';

/**
 * The one rig of the messaging tests: a toy service over the real broker and
 * database, each test file in a throw-away database and under an MQ prefix of
 * its own, and a cleanup that leaves neither behind.
 */

/** tools/test-all.sh runs the suite again with TEST_QUEUE_TYPE=quorum. */
export const TEST_QUEUE_TYPE: QueueType = process.env.TEST_QUEUE_TYPE === 'quorum' ? 'quorum' : 'classic';
export type QueueType = NonNullable<MessagingOptions['queueType']>;
export const SCHEMA = 'toy';
export const RETRIES = [100, 200];
export const DEFERS = [50, 150];

class ToyEffects1732320009000 implements MigrationInterface {
  name = 'ToyEffects1732320009000';
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE TABLE effects (id bigserial PRIMARY KEY, queue text NOT NULL, job_id uuid NOT NULL, txid bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE effects');
  }
}
export const TOY_MIGRATIONS = [...MESSAGING_MIGRATIONS, ToyEffects1732320009000];

/** A database (migrated) and an MQ prefix for one test file; `cleanup` removes both and every queue under the prefix. */
export interface ToyEnvironment {
  databaseUrl: string;
  prefix: string;
  /** Delay tiers whose queues cleanup removes (every service started here adds its own). */
  delays: Set<number>;
  /** One statement on the database (own connection), rows back. */
  sql<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** How many effects a job has (on one queue, or on all). */
  effects(jobId: string, queue?: ToyQueue): Promise<number>;
  /** The broker name of a toy queue. */
  queue(q: ToyQueue, kind?: 'dlq'): string;
  cleanup(): Promise<void>;
}

export async function toyEnvironment(label: string, existing?: { databaseUrl: string; prefix: string }): Promise<ToyEnvironment> {
  const db = existing ? undefined : await createTestDatabase(label);
  const databaseUrl = existing?.databaseUrl ?? db!.url;
  const prefix = existing?.prefix ?? uniqueName(label).toLowerCase();
  if (db) await migrateService({ url: databaseUrl, schema: SCHEMA, migrations: TOY_MIGRATIONS });
  const delays = new Set<number>([...RETRIES, ...DEFERS]);
  const sql = async <R>(text: string, params?: unknown[]): Promise<R[]> => {
    const c = new Client({ connectionString: databaseUrl, options: `-c search_path=${SCHEMA}` });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as R[];
    } finally {
      await c.end();
    }
  };
  return {
    databaseUrl, prefix, delays, sql,
    effects: async (jobId, queue) =>
      (await sql<{ n: number }>('SELECT count(*)::int AS n FROM effects WHERE job_id = $1 AND ($2::text IS NULL OR queue = $2)', [jobId, queue ?? null]))[0].n,
    queue: (q, kind) => `${prefix}.${q}${kind ? `.${kind}` : ''}`,
    cleanup: async () => {
      if (!db) return; // someone else's
      await db.drop();
      await deleteBrokerTopology(prefix, [...delays], TEST_RABBITMQ_URL, TOY_QUEUES);
    },
  };
}

export interface ToyServiceOptions {
  /** The queues it consumes, with their prefetch. */
  queues: Partial<Record<ToyQueue, number>>;
  label?: string;
  /** Run in this environment (its owner cleans it up); else one of its own. */
  env?: ToyEnvironment;
  queueType?: QueueType;
  retryDelaysMs?: number[];
  deferDelaysMs?: number[];
  maxBatch?: number;
  /** Messages of one routing key published as one pack (the library's default otherwise: none). */
  packMax?: number;
  poisonCrashes?: number;
  /** How long a message its database fails is held waiting for it (the library's default otherwise). */
  databaseWaitMaxMs?: number;
  metricsCacheMs?: number;
  /** The outbox relay's safety-net sweep (the library's default otherwise). */
  relaySweepMs?: number;
  /** Reach the broker through a proxy the test can cut. */
  brokerProxy?: boolean;
  /** Reach the database through a proxy: the pool only, or its LISTEN connections too. */
  databaseProxy?: 'pool' | 'all';
  /** Instead of the controllers that serve `queues`. */
  controllers?: Type[];
  /** Messages the test bus records. */
  watch?: ToyMessageName[];
  logger?: LogLevel[];
}

export interface ToyService extends ToyEnvironment {
  app: INestApplication;
  bus: TestBus<ToyMessages>;
  brokerProxy?: TcpProxy;
  databaseProxy?: TcpProxy;
  /** Publishes a toy message as its producer would. */
  publish: TestBus<ToyMessages>['publish'];
}

function proxied(url: string, port: number): string {
  const u = new URL(url);
  u.host = `127.0.0.1:${port}`;
  return u.toString();
}

/** Starts a toy service: migrations, MessagingModule with the toy topology and codec, its consumers; then a test bus. */
export async function startToyService(o: ToyServiceOptions): Promise<ToyService> {
  const env = o.env ?? (await toyEnvironment(o.label ?? 'toy'));
  const retryDelaysMs = o.retryDelaysMs ?? RETRIES;
  const deferDelaysMs = o.deferDelaysMs ?? DEFERS;
  for (const d of [...retryDelaysMs, ...deferDelaysMs]) env.delays.add(d);
  let app: INestApplication | undefined;
  let bus: TestBus<ToyMessages> | undefined;
  let brokerProxy: TcpProxy | undefined;
  let databaseProxy: TcpProxy | undefined;
  const stop = async () => {
    await bus?.cleanup();
    await app?.close().catch(() => undefined);
    await brokerProxy?.stop();
    await databaseProxy?.stop();
    if (!o.env) await env.cleanup();
  };
  try {
    const broker = new URL(TEST_RABBITMQ_URL);
    if (o.brokerProxy) {
      brokerProxy = new TcpProxy(broker.hostname, Number(broker.port || 5672));
      await brokerProxy.start();
    }
    const db = new URL(env.databaseUrl);
    if (o.databaseProxy) {
      databaseProxy = new TcpProxy(db.hostname, Number(db.port || 5432));
      await databaseProxy.start();
    }
    const poolUrl = databaseProxy ? proxied(env.databaseUrl, databaseProxy.port) : env.databaseUrl;
    const ownQueues = Object.keys(o.queues) as ToyQueue[];
    const controllers = o.controllers ?? ownQueues.map((q) => CONSUMERS[q]).filter((c): c is Type => !!c);
    @Module({
      imports: [
        TypeOrmModule.forRoot(serviceDataSourceOptions({ url: poolUrl, schema: SCHEMA, migrations: TOY_MIGRATIONS })),
        MessagingModule.forRoot({
          rabbitmqUrl: brokerProxy ? proxied(TEST_RABBITMQ_URL, brokerProxy.port) : TEST_RABBITMQ_URL,
          prefix: env.prefix,
          serviceName: 'toy-service',
          databaseUrl: o.databaseProxy === 'all' ? poolUrl : env.databaseUrl,
          schema: SCHEMA,
          topology: TOPOLOGY,
          codec: TOY_CODEC,
          ownQueues,
          retryDelaysMs,
          deferDelaysMs,
          queueType: o.queueType ?? TEST_QUEUE_TYPE,
          packMax: o.packMax,
          metricsCacheMs: o.metricsCacheMs,
          relaySweepMs: o.relaySweepMs,
          consumers: {
            prefetch: o.queues, defaultPrefetch: 8, maxBatch: o.maxBatch, poisonCrashes: o.poisonCrashes, databaseWaitMaxMs: o.databaseWaitMaxMs,
          },
          announceDeadLetter,
          describe: (e) => ({ jobId: String((e.payload as { jobId?: unknown }).jobId) }),
        }),
      ],
      controllers,
      providers: [Work],
    })
    class ToyModule {}
    app = await NestFactory.create(ToyModule, new FastifyAdapter(), { logger: o.logger ?? ['error'] });
    await startConsumers(app);
    await app.init();
    bus = await TestBus.connect<ToyMessages>(env.prefix, o.watch ?? ['work.done.v1', 'work.dead-lettered.v1'], TEST_RABBITMQ_URL, TOY_BUS_CODEC);
  } catch (e) {
    await stop();
    throw e;
  }
  const b = bus;
  return { ...env, app, bus: b, brokerProxy, databaseProxy, publish: (name, payload, meta) => b.publish(name, payload, meta), cleanup: stop };
}

/** One broker connection for what a test does beside the service (raw publishes, queue checks); `close` when done. */
export interface RawBroker {
  conn: amqp.ChannelModel;
  close(): Promise<void>;
}

export async function rawBroker(): Promise<RawBroker> {
  const conn = await amqp.connect(TEST_RABBITMQ_URL);
  return { conn, close: () => conn.close().catch(() => undefined) };
}
