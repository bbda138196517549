import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { TEST_RABBITMQ_URL } from '@orders/testing';
import * as amqp from 'amqplib';
import { Client } from 'pg';
import { intakeRound, Round, startReference, summarize } from './bench/intake-compare';
import { readSteps, stepsBetween } from './bench/steps';
import { cpuMs, currentRssMiB, infraPids, peakRssMiB } from './proc-stats';
import { Api, orderBody, ROOT, SERVICE_NAMES, ServiceName, System } from './system';

/**
 * npm run bench: the whole system as processes (throw-away database and
 * queues, instant payment gateway), measuring
 *  1. intake (order-receiving + its relay, order-processing stopped) against a
 *     bare reference intake (bench/reference-intake.ts), alternating autocannon
 *     rounds in the same run, and the ratio;
 *  2. accept → final of one order at a time (Prefer: wait), p50/p99;
 *  3. a flood: FLOOD_ORDERS orders of one tenant, first POST to all final
 *     (orders/s end to end), CPU ms per order of every process (PostgreSQL and
 *     RabbitMQ included) over it, and another tenant's accept → final during
 *     it against the same tenant's idle figure, split by stage;
 *  4. each service's RSS after the flood and its peak.
 * Prints a table and writes apps/system-e2e/artifacts/bench.json.
 * Figures are for this machine with everything (load generator included) on it.
 */
const num = (k: string, d: number) => Number(process.env[k] ?? d);
const ROUND_SECONDS = num('BENCH_ROUND_SECONDS', 5);
const ROUNDS = num('BENCH_ROUNDS', 3);
const CONNECTIONS = num('BENCH_CONNECTIONS', 50);
const LATENCY_ORDERS = num('BENCH_LATENCY_ORDERS', 200);
const FLOOD_ORDERS = num('BENCH_FLOOD_ORDERS', 3000);
const FLOOD_CONCURRENCY = num('BENCH_FLOOD_CONCURRENCY', 64);
const SMALL_ORDERS = num('BENCH_SMALL_ORDERS', 20);
/** BENCH_ONLY=intake: the intake comparison alone (step 1), to iterate on order-receiving. */
const ONLY_INTAKE = process.env.BENCH_ONLY === 'intake';
const FINAL = ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'];

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const r1 = (x: number) => Math.round(x * 10) / 10;

interface Answer { status: number; ms: number; body: string }
function post(agent: Agent, port: number, body: unknown, key: string, extra: Record<string, string> = {}, apiKey = 'demo-key'): Promise<Answer> {
  const raw = JSON.stringify(body);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1', port, path: '/orders', method: 'POST', agent,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': key, 'content-length': Buffer.byteLength(raw), ...extra },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6, body: data }));
      },
    );
    req.on('error', reject);
    req.end(raw);
  });
}

async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

interface FinalOrder { status: string; history: Array<{ status: string; at: string }> }
/** Milliseconds of an order spent waiting for admission (PENDING → PROCESSING) and in the saga (PROCESSING → final). */
function stages(a: Answer): { total: number; admission: number; saga: number; rest: number } | undefined {
  if (a.status !== 200) return undefined;
  const o = JSON.parse(a.body) as FinalOrder;
  const at = (s: string) => Date.parse(o.history.find((h) => h.status === s)?.at ?? '');
  const pending = at('PENDING');
  const processing = at('PROCESSING');
  const final = Date.parse(o.history[o.history.length - 1].at);
  if (!FINAL.includes(o.status) || Number.isNaN(processing)) return undefined;
  return { total: a.ms, admission: processing - pending, saga: final - processing, rest: a.ms - (final - pending) };
}

async function main(): Promise<void> {
  // BENCH_SERVICE_ENV="TENANT_MAX_IN_FLIGHT=4 SAGA_CONCURRENCY=8": settings for every service, to compare
  const extra = Object.fromEntries((process.env.BENCH_SERVICE_ENV ?? '').split(/\s+/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const sys = await System.start({ env: { LOG_LEVEL: 'warn', RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000', ...extra } });
  const db = new Client({ connectionString: sys.databaseUrl });
  await db.connect();
  const results: Record<string, unknown> = { machine: '2 cores shared by every process, PostgreSQL, RabbitMQ and the load generator' };
  try {
    const api = new Api(sys);
    await api.putProduct('SKU-BENCH', { name: 'Bench item', priceCents: 1000, currency: 'EUR', stock: 100_000_000 });
    const port = sys.ports['order-receiving'];
    const run = Date.now().toString(36);
    const body = JSON.stringify(orderBody({ sku: 'SKU-BENCH' }));

    // 1. intake against the bare reference, order-processing stopped (accepted orders wait in the broker,
    //    and are purged afterwards: they are not part of the later figures)
    await sys.kill('order-processing', 'SIGTERM');
    const ref = await startReference();
    const rounds: Round[] = [];
    try {
      await intakeRound('reference', ref.port, body, 3, CONNECTIONS, `wref-${run}`); // warm-up (JIT, pools, plans)
      await intakeRound('order-receiving', port, body, 3, CONNECTIONS, `wour-${run}`);
      for (let i = 0; i < ROUNDS; i++) {
        const pair = [
          () => intakeRound('reference', ref.port, body, ROUND_SECONDS, CONNECTIONS, `ref-${run}-${i}`),
          () => intakeRound('order-receiving', port, body, ROUND_SECONDS, CONNECTIONS, `our-${run}-${i}`),
        ];
        if (i % 2) pair.reverse();
        for (const go of pair) rounds.push(await go());
      }
    } finally {
      await ref.stop();
    }
    const ours = summarize(rounds, 'order-receiving');
    const bare = summarize(rounds, 'reference');
    results.intake = { connections: CONNECTIONS, roundSeconds: ROUND_SECONDS, rounds, orderReceiving: ours, reference: bare, ratio: Math.round((ours.reqPerSec / bare.reqPerSec) * 100) / 100 };
    if (ONLY_INTAKE) return report(results);
    const conn = await amqp.connect(TEST_RABBITMQ_URL);
    const ch = await conn.createChannel();
    await ch.purgeQueue(`${sys.prefix}.order-processing.placed`);
    await conn.close();
    // the intake rounds left tens of thousands of rows and deleted outbox rows behind: settle them now, not
    // in autovacuum runs that would take CPU from the measurements that follow
    await db.query('VACUUM ANALYZE');
    await sys.launch('order-processing');
    await sys.waitReady('order-processing');

    // 2. accept → final, one at a time, idle; the small tenant's idle figure too
    const waitAgent = new Agent({ keepAlive: true, maxSockets: 4 });
    await pool(50, 1, (i) => post(waitAgent, port, orderBody({ sku: 'SKU-BENCH' }), `lwarm-${run}-${i}`, { prefer: 'wait=10' }));
    const metricsUrls = (['order-receiving', 'order-processing', 'inventory', 'notification'] as const).map((n) => `${sys.url(n)}/metrics`);
    const stepsBefore = await readSteps(metricsUrls);
    const single = await pool(LATENCY_ORDERS, 1, (i) => post(waitAgent, port, orderBody({ sku: 'SKU-BENCH' }), `lat-${run}-${i}`, { prefer: 'wait=10' }));
    const steps = stepsBetween(stepsBefore, await readSteps(metricsUrls));
    const fin = single.filter((a) => a.status === 200 && (JSON.parse(a.body) as FinalOrder).status === 'CONFIRMED').map((a) => a.ms);
    results.acceptToFinal = { orders: LATENCY_ORDERS, confirmed: fin.length, p50Ms: r1(pct(fin, 50)), p90Ms: r1(pct(fin, 90)), p99Ms: r1(pct(fin, 99)), meanMsPerStep: steps };
    const smallIdleAnswers = await pool(SMALL_ORDERS, 1, (i) => post(waitAgent, port, orderBody({ sku: 'SKU-BENCH' }), `sidle-${run}-${i}`, { prefer: 'wait=30' }, 'acme-key'));
    const smallIdle = smallIdleAnswers.filter((a) => a.status === 200).map((a) => a.ms);
    const idleSplit = smallIdleAnswers.map(stages).filter((x): x is NonNullable<typeof x> => !!x);

    // 3. the flood, with the small tenant's orders during it
    const pidsOf = (): Array<[string, number[]]> => [
      ...SERVICE_NAMES.map((n: ServiceName): [string, number[]] => [n, [sys.pid(n) ?? 0].filter(Boolean)]),
      ['postgresql', infraPids().postgres],
      ['rabbitmq', infraPids().rabbitmq],
    ];
    const floodAgent = new Agent({ keepAlive: true, maxSockets: FLOOD_CONCURRENCY });
    const cpuBefore = new Map(pidsOf().map(([n, pids]) => [n, cpuMs(pids)]));
    const t0 = Date.now();
    let floodDone = false;
    let floodAnswered = 0;
    let floodUnderWay: () => void = () => undefined;
    const underWay = new Promise<void>((r) => (floodUnderWay = r));
    const flood = pool(FLOOD_ORDERS, FLOOD_CONCURRENCY, async (i) => {
      const a = await post(floodAgent, port, orderBody({ sku: 'SKU-BENCH' }), `flood-${run}-${i}`);
      if (++floodAnswered === FLOOD_CONCURRENCY) floodUnderWay();
      return a;
    }).then((r) => {
      floodUnderWay();
      floodDone = true;
      return r;
    });
    const smallDuring: Answer[] = [];
    await underWay; // the flood's first wave answered: the small tenant's orders meet a flood in full swing
    for (let i = 0; i < SMALL_ORDERS; i++) {
      smallDuring.push(await post(waitAgent, port, orderBody({ sku: 'SKU-BENCH' }), `small-${run}-${i}`, { prefer: 'wait=30' }, 'acme-key'));
      await new Promise((r) => setTimeout(r, 200)); // pacing: the small tenant's orders spread over the flood
    }
    const floodIds = (await flood).filter((a) => a.status === 202).map((a) => (JSON.parse(a.body) as { id: string }).id);
    const intakeSecs = (Date.now() - t0) / 1000;
    for (;;) {
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM receiving.orders WHERE id = ANY($1) AND status <> ALL($2)`, [floodIds, FINAL]);
      if (Number(rows[0].n) === 0) break;
      await new Promise((r) => setTimeout(r, 100)); // between polls of the condition above
    }
    const floodSecs = (Date.now() - t0) / 1000;
    const cpuPerOrder = Object.fromEntries(pidsOf().map(([n, pids]) => [n, r1((cpuMs(pids) - (cpuBefore.get(n) ?? 0)) / (floodIds.length + SMALL_ORDERS))]));
    const cpuTotal = r1(Object.values(cpuPerOrder).reduce((a, b) => a + b, 0));
    const during = smallDuring.filter((a) => a.status === 200).map((a) => a.ms);
    const split = smallDuring.map(stages).filter((s): s is NonNullable<typeof s> => !!s);
    const med = (f: (s: (typeof split)[number]) => number) => r1(pct(split.map(f), 50));
    results.flood = {
      orders: floodIds.length, concurrency: FLOOD_CONCURRENCY, intakeSeconds: r1(intakeSecs), secondsToAllFinal: r1(floodSecs),
      ordersPerSec: Math.round(floodIds.length / floodSecs), cpuMsPerOrder: cpuPerOrder, cpuMsPerOrderTotal: cpuTotal,
      smallDuringFlood: floodDone ? 'the flood intake ended before the small tenant finished' : 'every small order was placed while the flood was being posted or drained',
    };
    results.fairness = {
      smallTenantIdle: {
        orders: smallIdle.length, p50Ms: r1(pct(smallIdle, 50)), p99Ms: r1(pct(smallIdle, 99)),
        medianStagesMs: { admission: r1(pct(idleSplit.map((x) => x.admission), 50)), saga: r1(pct(idleSplit.map((x) => x.saga), 50)), intakeAndPush: r1(pct(idleSplit.map((x) => x.rest), 50)) },
      },
      smallTenantDuringFlood: { orders: during.length, p50Ms: r1(pct(during, 50)), p99Ms: r1(pct(during, 99)) },
      ratioP99: Math.round((pct(during, 99) / pct(smallIdle, 99)) * 10) / 10,
      medianStagesMs: { total: med((s) => s.total), admission: med((s) => s.admission), saga: med((s) => s.saga), intakeAndPush: med((s) => s.rest) },
      slowestStagesMs: [...split].sort((x, y) => y.total - x.total).slice(0, 3).map((s) => ({ total: r1(s.total), admission: s.admission, saga: s.saga, intakeAndPush: r1(s.rest) })),
    };

    // 4. memory
    results.rssMiB = Object.fromEntries(SERVICE_NAMES.map((n) => [n, { afterFlood: Math.round(currentRssMiB(sys.pid(n) ?? 0)), peak: Math.round(peakRssMiB(sys.pid(n) ?? 0)) }]));
    floodAgent.destroy();
    waitAgent.destroy();
  } finally {
    await db.end();
    await sys.stop();
  }
  report(results);
}

function report(results: Record<string, unknown>): void {
  const i = results.intake as { rounds: Round[]; orderReceiving: ReturnType<typeof summarize>; reference: ReturnType<typeof summarize>; ratio: number; connections: number };
  if (ONLY_INTAKE) {
    for (const r of i.rounds) console.log(`  round ${r.target.padEnd(15)} ${r.reqPerSec} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);
    console.log(`order-receiving ${i.orderReceiving.reqPerSec} req/s (p99 ${i.orderReceiving.p99Ms} ms), reference ${i.reference.reqPerSec} req/s (p99 ${i.reference.p99Ms} ms): ratio ${i.ratio}`);
    return;
  }
  const a = results.acceptToFinal as { p50Ms: number; p99Ms: number; confirmed: number; orders: number; meanMsPerStep: Array<{ step: string; meanMs: number; times: number }> };
  const f = results.flood as { orders: number; secondsToAllFinal: number; ordersPerSec: number; cpuMsPerOrder: Record<string, number>; cpuMsPerOrderTotal: number };
  const fa = results.fairness as { smallTenantIdle: { p99Ms: number; p50Ms: number; medianStagesMs: Record<string, number> }; smallTenantDuringFlood: { p99Ms: number; p50Ms: number; orders: number }; ratioP99: number; medianStagesMs: Record<string, number>; slowestStagesMs: Array<Record<string, number>> };
  const rss = results.rssMiB as Record<string, { afterFlood: number; peak: number }>;
  const rows: Array<[string, string]> = [
    [`intake, autocannon c=${i.connections} (order-receiving + relay)`, `${i.orderReceiving.reqPerSec} req/s, p50 ${i.orderReceiving.p50Ms} ms, p99 ${i.orderReceiving.p99Ms} ms, non-2xx ${i.orderReceiving.non2xx}`],
    ['intake, bare reference, same run', `${i.reference.reqPerSec} req/s, p50 ${i.reference.p50Ms} ms, p99 ${i.reference.p99Ms} ms`],
    ['intake ratio (ours ÷ reference)', `${i.ratio}`],
    ['accept → final, one at a time (Prefer: wait)', `p50 ${a.p50Ms} ms, p99 ${a.p99Ms} ms (${a.confirmed}/${a.orders} confirmed)`],
    ...a.meanMsPerStep.map((st, n): [string, string] => [`  ${n === 0 ? 'its steps (mean ms, times)' : ''}`, `${st.meanMs} ms × ${st.times}  ${st.step}`]),
    [`flood of ${f.orders} orders, first POST → all final`, `${f.secondsToAllFinal} s = ${f.ordersPerSec} orders/s`],
    ['CPU ms per order during the flood', `${f.cpuMsPerOrderTotal} (${Object.entries(f.cpuMsPerOrder).map(([n, v]) => `${n} ${v}`).join(', ')})`],
    ['small tenant accept → final, idle', `p50 ${fa.smallTenantIdle.p50Ms} ms, p99 ${fa.smallTenantIdle.p99Ms} ms; median stages ${Object.entries(fa.smallTenantIdle.medianStagesMs).map(([k, v]) => `${k} ${v} ms`).join(', ')}`],
    ['small tenant during the flood', `p50 ${fa.smallTenantDuringFlood.p50Ms} ms, p99 ${fa.smallTenantDuringFlood.p99Ms} ms (${fa.smallTenantDuringFlood.orders} orders); ratio of p99s ${fa.ratioP99}`],
    ['  its median stages', Object.entries(fa.medianStagesMs).map(([k, v]) => `${k} ${v} ms`).join(', ')],
    ...fa.slowestStagesMs.map((st, n): [string, string] => [`  ${n === 0 ? 'its slowest three' : ''}`, Object.entries(st).map(([k, v]) => `${k} ${v} ms`).join(', ')]),
    ['RSS after the flood / peak (MiB)', Object.entries(rss).map(([n, v]) => `${n} ${v.afterFlood}/${v.peak}`).join(', ')],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  const out = join(ROOT, 'apps', 'system-e2e', 'artifacts');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'bench.json'), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
  console.log(`written: ${join(out, 'bench.json')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
