import { readdirSync } from 'node:fs';

/**
 * The chaos run's knobs, from the environment. Imported first by chaos.ts:
 * it points the testing library (TEST_PG_ADMIN_URL, TEST_RABBITMQ_URL, read
 * when that library loads) at the PostgreSQL and RabbitMQ the suite breaks.
 *
 * CI: nothing set, the machine's own services (PostgreSQL cluster `<ver>/main`
 * on 5432, the default RabbitMQ node on 5672). Development: a private
 * cluster and node, e.g. CHAOS_PG_CLUSTER=15/chaos CHAOS_PG_PORT=5433
 * CHAOS_RABBIT_NODE=chaos@localhost CHAOS_RABBIT_PORT=5673.
 */
const env = process.env;
const num = (name: string, dflt: number): number => {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
  return n;
};

function defaultCluster(): string {
  const versions = readdirSync('/etc/postgresql').filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
  if (!versions.length) throw new Error('no PostgreSQL cluster under /etc/postgresql: set CHAOS_PG_CLUSTER=<version>/<name>');
  return `${versions[0]}/main`;
}

const pgPort = num('CHAOS_PG_PORT', 5432);
const rabbitPort = num('CHAOS_RABBIT_PORT', 5672);
env.TEST_PG_ADMIN_URL = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;
env.TEST_RABBITMQ_URL = `amqp://guest:guest@127.0.0.1:${rabbitPort}`;

export const SETTINGS = {
  pgCluster: env.CHAOS_PG_CLUSTER || defaultCluster(),
  pgPort,
  rabbitNode: env.CHAOS_RABBIT_NODE || '',
  rabbitPort,
  /** Most orders the storefront places. */
  orders: num('CHAOS_ORDERS', 400),
  /** Pause between two new orders of the storefront. */
  orderEveryMs: num('CHAOS_ORDER_EVERY_MS', 400),
  /** Share of accepted orders the storefront cancels. */
  cancelShare: num('CHAOS_CANCEL_SHARE', 0.2),
  paymentTimeoutMs: num('CHAOS_PAYMENT_TIMEOUT_MS', 1000),
  orderMaxAgeMs: num('CHAOS_ORDER_MAX_AGE_MS', 120000),
  brokerDownMs: num('CHAOS_BROKER_DOWN_MS', 25000),
  pgDownMs: num('CHAOS_PG_DOWN_MS', 60000),
  slowGatewayMs: num('CHAOS_SLOW_GATEWAY_MS', 15000),
  /** Instances of each of the four services (2: a second one of each runs throughout, and the kills hit one instance of each). */
  replicas: Math.max(1, Math.min(4, num('CHAOS_REPLICAS', 1))),
  /** Kind of the services' queues (QUEUE_TYPE): classic or quorum. */
  queueType: env.CHAOS_QUEUE_TYPE === 'quorum' ? 'quorum' : 'classic',
  /** Service logs of the run go here (one file per service). */
  logDir: env.CHAOS_LOG_DIR || '',
  seed: num('CHAOS_SEED', Date.now() % 1_000_000),
} as const;

export type Settings = typeof SETTINGS;
