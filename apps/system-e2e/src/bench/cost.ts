import { Client, QueryResultRow } from 'pg';
import { BrokerCost, brokerCost, BrokerReading, readBroker } from './broker-stats';
import { CpuRecorder } from './cpu';
import { handledPerOrder, readHandled } from './handled';
import { r1 } from './http';
import { DbCost, dbCost, DbReading, PgStats } from './pg-stats';

/**
 * What a measured stretch of orders cost: CPU per process (from /proc), the
 * CPU of each database's PostgreSQL backends, transactions and rows per
 * database (PostgreSQL's counters), and for the platform deliveries and
 * publishes (the broker's counters) cross-checked with the services' own
 * counts. startMeasurement() waits for the platform's queues to drain, lets
 * PostgreSQL's counters settle and reads everything before the first order;
 * stop() ends the CPU window once the work is done (for the platform: once
 * every queue of the run is drained, so emails and captures after the last
 * final status count), then lets PostgreSQL's counters settle and reads them.
 */
export const FINAL = ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'];

/** The bench's own connection to a measured database: it counts its queries, which stop() takes out of that database's figures. */
export class OwnDb {
  queries = 0;
  pid = 0;
  private constructor(private readonly c: Client) {}

  static async open(url: string): Promise<OwnDb> {
    const c = new Client({ connectionString: url, application_name: 'bench' });
    await c.connect();
    const own = new OwnDb(c);
    own.pid = (await own.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0].pid;
    return own;
  }

  async query<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    this.queries++;
    return (await this.c.query<R>(sql, params)).rows;
  }

  /** Makes this backend flush its statistics at the end of this (counted) statement. */
  async flushStats(): Promise<void> {
    await this.query('SELECT pg_stat_force_next_flush()');
  }

  end(): Promise<void> {
    return this.c.end();
  }
}

/** Polls until every order of `ids` has a final status in order-receiving's read model; the polls are counted on `own`. */
export async function waitAllFinal(own: OwnDb, ids: string[], timeoutMs = 900_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ n }] = await own.query<{ n: string }>('SELECT count(*) AS n FROM receiving.orders WHERE id = ANY($1) AND status <> ALL($2)', [ids, FINAL]);
    if (Number(n) === 0) return;
    if (Date.now() > deadline) throw new Error(`${n} orders not final after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100)); // between polls of the condition above
  }
}

export interface Probe {
  pg: PgStats;
  /** Database labels of this measurement (services, or the reference). */
  labels: string[];
  /** Processes whose CPU counts, by name (sampled every second: cpu.ts). */
  processes: () => Array<[string, number[]]>;
  /** The platform: the run's MQ prefix (broker counters; null when rabbitmqctl is not usable), the services' /metrics and the bench's read-model connection. */
  platform?: { prefix: string | null; metricsUrls: string[]; own: OwnDb };
}

export interface Cost {
  orders: number;
  cpuMsPerOrder: Record<string, number>;
  cpuMsPerOrderTotal: number;
  /** The same up to the moment every order was final (markFinal), when marked: the window earlier bench runs used. */
  toAllFinal?: { cpuMsPerOrder: Record<string, number>; cpuMsPerOrderTotal: number };
  /** CPU of the PostgreSQL backends connected to each database (part of cpuMsPerOrder.postgresql). */
  pgBackendCpuMsPerOrder: Record<string, number>;
  db: Record<string, DbCost>;
  /** Seconds from stop() to every queue drained (platform). */
  drainSeconds?: number;
  broker?: BrokerCost & { handledPerOrder: ReturnType<typeof handledPerOrder> };
  /** Milliseconds spent waiting for PostgreSQL's counters to settle, before and after. */
  settleMs: [number, number];
}

export interface Measurement {
  /** Notes the processes' CPU now (every order final). */
  markFinal(): void;
  stop(orders: number): Promise<Cost>;
}

async function drained(prefix: string): Promise<BrokerReading> {
  let prev: BrokerReading | undefined;
  for (;;) {
    const r = await readBroker(prefix);
    const total = (x: BrokerReading) => Object.values(x.queues).reduce((s, q) => s + q.deliveries, 0);
    if (prev && prev.backlog === 0 && r.backlog === 0 && total(prev) === total(r) && prev.publishes === r.publishes) return r;
    prev = r; // each reading takes the CLI about a second: no pause needed between them
  }
}

export async function startMeasurement(p: Probe): Promise<Measurement> {
  // what came before has drained (its last emails, captures), so the broker's and the services' counts start level
  const brokerBefore = p.platform?.prefix ? await drained(p.platform.prefix) : undefined;
  const handledBefore = p.platform ? await readHandled(p.platform.metricsUrls) : undefined;
  await p.platform?.own.flushStats();
  const settleBefore = await p.pg.settle(p.labels, p.platform ? [p.platform.own.pid] : []);
  const dbBefore: Record<string, DbReading> = await p.pg.read(p.labels);
  const ownBefore = p.platform?.own.queries ?? 0;
  const processCpu = await CpuRecorder.start(p.processes);
  const backendCpu = await p.pg.cpu(p.labels);
  let atFinal: Promise<Record<string, number>> | undefined;
  const perOrder = (ms: Record<string, number>, orders: number) => {
    const cpu = Object.fromEntries(Object.entries(ms).map(([n, v]) => [n, r1(v / orders)]));
    return { cpuMsPerOrder: cpu, cpuMsPerOrderTotal: r1(Object.values(cpu).reduce((a, b) => a + b, 0)) };
  };
  return {
    markFinal() {
      atFinal = processCpu.snapshot();
    },
    async stop(orders) {
      const t = Date.now();
      const brokerAfter = p.platform?.prefix ? await drained(p.platform.prefix) : undefined;
      const drainSeconds = p.platform ? r1((Date.now() - t) / 1000) : undefined;
      const cpu = perOrder(await processCpu.stop(), orders);
      const backends = await backendCpu.stop();
      await p.platform?.own.flushStats();
      const settleAfter = await p.pg.settle(p.labels, p.platform ? [p.platform.own.pid] : []);
      const dbAfter = await p.pg.read(p.labels);
      // the bench's own queries went to order-receiving's database (the read model it polls)
      const own: Record<string, number> = p.platform ? { 'order-receiving': p.platform.own.queries - ownBefore } : {};
      const cost: Cost = {
        orders,
        ...cpu,
        ...(atFinal ? { toAllFinal: perOrder(await atFinal, orders) } : {}),
        pgBackendCpuMsPerOrder: Object.fromEntries(Object.entries(backends).map(([l, ms]) => [l, r1(ms / orders)])),
        db: dbCost(dbBefore, dbAfter, orders, own),
        drainSeconds,
        settleMs: [settleBefore, settleAfter],
      };
      if (p.platform && brokerBefore && brokerAfter && handledBefore) {
        cost.broker = { ...brokerCost(brokerBefore, brokerAfter, orders), handledPerOrder: handledPerOrder(handledBefore, await readHandled(p.platform.metricsUrls), orders) };
      }
      return cost;
    },
  };
}
