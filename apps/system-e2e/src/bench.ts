import { createTestDatabase, TEST_RABBITMQ_URL, TestDatabase } from '@orders/testing';
import * as amqp from 'amqplib';
import { createWriteStream, mkdirSync, WriteStream } from 'node:fs';
import { join } from 'node:path';
import { ChannelStats, enableChannelStats } from './bench/broker-stats';
import { CheckoutRef, compareCheckout, startCheckoutReference } from './bench/checkout-compare';
import { OwnDb, Probe } from './bench/cost';
import { Ctx, floodPhase, intakePhase, latencyPhase } from './bench/phases';
import { PgStats } from './bench/pg-stats';
import { meanCost, report, Results } from './bench/report';
import { infraPids } from './proc-stats';
import { Api, SERVICE_NAMES, ServiceName, System } from './system';

/**
 * npm run bench: the whole system as processes (throw-away databases, one per
 * service, and queues; instant payment gateway), measuring
 *  1. intake (order-receiving + its relay, order-processing stopped) against a
 *     bare reference intake (bench/reference-intake.ts), alternating autocannon
 *     rounds in the same run, and the ratio;
 *  2. accept → final of one order at a time (Prefer: wait), p50/p99;
 *  3. a flood: FLOOD_ORDERS orders of one tenant, first POST to all final
 *     (orders/s end to end), what an order costs over it (bench/cost.ts: CPU
 *     ms of every process, PostgreSQL and RabbitMQ included; broker deliveries
 *     and publishes; PostgreSQL transactions and rows per service), and another
 *     tenant's accept → final during it against the same tenant's idle figure,
 *     split by stage;
 *  4. each service's RSS after the flood and its peak;
 *  5. the platform against a synchronous checkout doing the same business
 *     (bench/reference-checkout.ts), alternating floods, with what an order
 *     costs on each side (bench/checkout-compare.ts).
 * Prints a table and writes apps/system-e2e/artifacts/bench.json.
 * Figures are for this machine with everything (load generator included) on it.
 *
 * BENCH_ONLY=intake: step 1 alone; BENCH_ONLY=flood: steps 2-4; BENCH_ONLY=compare: step 5 alone (after start-up).
 */
const num = (k: string, d: number) => Number(process.env[k] ?? d);
const ROUND_SECONDS = num('BENCH_ROUND_SECONDS', 5);
const ROUNDS = num('BENCH_ROUNDS', 3);
const CONNECTIONS = num('BENCH_CONNECTIONS', 50);
const LATENCY_ORDERS = num('BENCH_LATENCY_ORDERS', 200);
const FLOOD_ORDERS = num('BENCH_FLOOD_ORDERS', 3000);
const FLOOD_CONCURRENCY = num('BENCH_FLOOD_CONCURRENCY', 64);
const SMALL_ORDERS = num('BENCH_SMALL_ORDERS', 20);
const COMPARE_ORDERS = num('BENCH_COMPARE_ORDERS', 1200);
const COMPARE_CONCURRENCY = num('BENCH_COMPARE_CONCURRENCY', 32);
const COMPARE_ROUNDS = num('BENCH_COMPARE_ROUNDS', 2);
const COMPARE_WARMUP = num('BENCH_COMPARE_WARMUP', 100);
const ONLY = process.env.BENCH_ONLY ?? '';
if (!['', 'intake', 'flood', 'compare'].includes(ONLY)) throw new Error(`BENCH_ONLY must be intake, flood or compare, not ${ONLY}`);

/** The services with a database: each gets its own in the bench, so PostgreSQL's per-database counters are per service. */
const DB_SERVICES = ['order-receiving', 'order-processing', 'inventory', 'notification'] as const satisfies readonly ServiceName[];

async function main(): Promise<void> {
  // BENCH_SERVICE_ENV="TENANT_MAX_IN_FLIGHT=4 SAGA_CONCURRENCY=8": settings for every service, to compare
  const extra = Object.fromEntries((process.env.BENCH_SERVICE_ENV ?? '').split(/\s+/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const results: Results = { machine: '2 cores shared by every process, PostgreSQL, RabbitMQ and the load generator', notes: [] };
  let channelStats: ChannelStats | undefined;
  const dbs = new Map<string, TestDatabase>();
  let sys: System | undefined;
  let pg: PgStats | undefined;
  let own: OwnDb | undefined;
  let ref: CheckoutRef | undefined;
  const running = new Set<() => Promise<void>>();
  const logFiles = new Map<ServiceName, WriteStream>();
  // everything the run created goes, on success, on failure and on Ctrl-C alike (once)
  let tornDown: Promise<void> | undefined;
  const teardown = (): Promise<void> =>
    (tornDown ??= (async () => {
      for (const stop of running) await stop().catch((e: Error) => console.error(`stopping a phase's process: ${e.message}`));
      await ref?.stop().catch((e: Error) => console.error(`stopping the sync checkout: ${e.message}`));
      await own?.end().catch(() => undefined);
      await pg?.close().catch((e: Error) => console.error(`dropping the stats database: ${e.message}`));
      await sys?.stop().catch((e: Error) => console.error(`stopping the system: ${e.message}`));
      for (const f of logFiles.values()) await new Promise<void>((r) => f.end(r));
      for (const d of dbs.values()) await d.drop().catch((e: Error) => console.error(`dropping ${d.name}: ${e.message}`));
      await channelStats?.restore().catch((e: Error) => console.error(`restoring collect_statistics (was ${channelStats?.previous}): ${e.message}`));
    })());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`${sig}: cleaning up`);
      void teardown().finally(() => process.exit(130));
    });
  }
  try {
    // the broker's per-channel counters, for channels opened from now on (the services' channels)
    try {
      channelStats = await enableChannelStats();
      results.notes.push(`RabbitMQ collect_statistics was ${channelStats.previous} before the run; set to fine for it and restored afterwards`);
    } catch (e) {
      results.notes.push(`broker counters not measured: rabbitmqctl eval failed (${(e as Error).message.split('\n')[0]})`);
    }
    for (const n of DB_SERVICES) dbs.set(n, await createTestDatabase(`bench_${n.replace('order-', '')}`));
    // BENCH_LOG_DIR=/tmp/bench-logs: every service's output into <dir>/<service>.log (with BENCH_SERVICE_ENV="LOG_LEVEL=debug", what each order did);
    // streamed, so the load generator's own event loop never waits on a write
    const logDir = process.env.BENCH_LOG_DIR;
    if (logDir) mkdirSync(logDir, { recursive: true });
    const logFile = (n: ServiceName): WriteStream => {
      let f = logFiles.get(n);
      if (!f) logFiles.set(n, (f = createWriteStream(join(logDir!, `${n}.log`), { flags: 'a' })));
      return f;
    };
    sys = new System({
      env: { LOG_LEVEL: 'warn', RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000', ...extra },
      onLine: logDir ? (n, line) => void logFile(n).write(`${line}\n`) : undefined,
      serviceEnv: Object.fromEntries(DB_SERVICES.map((n) => [n, { DATABASE_URL: dbs.get(n)!.url }])),
    });
    await sys.init();
    const s = sys;
    await Promise.all(SERVICE_NAMES.map((n) => s.launch(n)));
    await Promise.all(SERVICE_NAMES.map((n) => s.waitReady(n)));
    pg = await PgStats.open(Object.fromEntries(DB_SERVICES.map((n) => [n, dbs.get(n)!.name])));
    if (pg.statementsUnavailable) results.notes.push(`statements per order not measured: ${pg.statementsUnavailable}`);
    own = await OwnDb.open(dbs.get('order-receiving')!.url);
    await new Api(sys).putProduct('SKU-BENCH', { name: 'Bench item', priceCents: 1000, currency: 'EUR', stock: 100_000_000 });

    const pidsOf = (): Array<[string, number[]]> => {
      const infra = infraPids();
      return [...SERVICE_NAMES.map((n: ServiceName): [string, number[]] => [n, [s.pid(n) ?? 0].filter(Boolean)]), ['postgresql', infra.postgres], ['rabbitmq', infra.rabbitmq]];
    };
    const metricsUrls = DB_SERVICES.map((n) => `${s.url(n)}/metrics`);
    const probe: Ctx['probe'] = { pg, labels: [...DB_SERVICES], processes: pidsOf, platform: { prefix: channelStats ? sys.prefix : null, metricsUrls, own } };
    const ctx: Ctx = { sys, own, run: Date.now().toString(36), port: sys.ports['order-receiving'], probe, running };

    if (ONLY === '' || ONLY === 'intake') {
      // 1. intake against the bare reference, order-processing stopped (accepted orders wait in the broker,
      //    and are purged afterwards: they are not part of the later figures)
      await sys.kill('order-processing', 'SIGTERM');
      results.intake = await intakePhase(ctx, { rounds: ROUNDS, roundSeconds: ROUND_SECONDS, connections: CONNECTIONS });
    }
    if (ONLY === '' || ONLY === 'flood') {
      const conn = await amqp.connect(TEST_RABBITMQ_URL);
      const ch = await conn.createChannel();
      // both lanes: past its first orders, the intake rounds' tenant is in the bulk lane
      for (const q of ['order-processing.placed', 'order-processing.placed-bulk']) await ch.purgeQueue(`${sys.prefix}.${q}`);
      await conn.close();
      // the intake rounds left tens of thousands of rows and deleted outbox rows behind: settle them now, not
      // in autovacuum runs that would take CPU from the measurements that follow
      await own.query('VACUUM ANALYZE');
      if (ONLY === '') {
        await sys.launch('order-processing'); // stopped for the intake rounds
        await sys.waitReady('order-processing');
      }

      // 2. accept → final, one at a time, idle; 3. the flood; 4. memory
      const latency = await latencyPhase(ctx, { orders: LATENCY_ORDERS, smallOrders: SMALL_ORDERS });
      results.acceptToFinal = latency.acceptToFinal;
      const flood = await floodPhase(ctx, latency, { orders: FLOOD_ORDERS, concurrency: FLOOD_CONCURRENCY, smallOrders: SMALL_ORDERS });
      Object.assign(results, flood);
    }
    if (ONLY === '' || ONLY === 'compare') {
      // 5. the platform against the synchronous checkout, on the same payment gateway simulator
      ref = await startCheckoutReference(sys.url('payment-gateway-sim'), 'SKU-BENCH');
      pg.track('sync checkout', ref.db);
      const refPid = ref.pid;
      const refProbe: Probe = {
        pg,
        labels: ['sync checkout'],
        processes: () => [['sync checkout', [refPid]], ['payment-gateway-sim', [s.pid('payment-gateway-sim') ?? 0].filter(Boolean)], ['postgresql', infraPids().postgres]],
      };
      const compare = await compareCheckout(
        { orderReceivingPort: ctx.port, ref, platformProbe: probe, refProbe, sku: 'SKU-BENCH', run: ctx.run },
        { orders: COMPARE_ORDERS, concurrency: COMPARE_CONCURRENCY, rounds: COMPARE_ROUNDS, warmup: COMPARE_WARMUP },
      );
      results.compare = { ...compare, platformCost: meanCost(compare.rounds, 'platform'), syncCost: meanCost(compare.rounds, 'sync') };
    }
    results.notes.push(
      'PostgreSQL transactions are pg_stat_database.xact_commit of each database (read-only ones included: timers, metrics scrapes), the bench\'s own polls taken out',
      'CPU of "postgresql" and "rabbitmq" is every process of those servers, whoever else uses them meanwhile; the backends line is only the bench\'s databases',
    );
  } finally {
    await teardown();
  }
  report(results, ONLY === 'intake');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
