import { Agent, request } from 'node:http';
import { Api, orderBody, System } from './system';

/**
 * npm run bench: starts the whole system as processes (throw-away database
 * and queues, instant payment gateway) and measures
 *  1. intake: POST /orders throughput and latency at a fixed concurrency,
 *  2. how long the resulting backlog takes to drain to final states,
 *  3. accept-to-final latency of single orders (Prefer: wait), median and p99.
 * Figures are for this machine with everything (load generator included) on it.
 */
const INTAKE_ORDERS = Number(process.env.BENCH_INTAKE_ORDERS ?? 4000);
const INTAKE_CONCURRENCY = Number(process.env.BENCH_INTAKE_CONCURRENCY ?? 64);
const LATENCY_ORDERS = Number(process.env.BENCH_LATENCY_ORDERS ?? 300);
const LATENCY_CONCURRENCY = Number(process.env.BENCH_LATENCY_CONCURRENCY ?? 4);
const FLOOD_ORDERS = Number(process.env.BENCH_FLOOD_ORDERS ?? 3000);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

function post(agent: Agent, port: number, body: string, key: string, extra: Record<string, string> = {}, apiKey = 'demo-key'): Promise<{ status: number; ms: number; body: string }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1', port, path: '/orders', method: 'POST', agent,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': key, 'content-length': Buffer.byteLength(body), ...extra },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6, body: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
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

async function main(): Promise<void> {
  const sys = await System.start({ env: { LOG_LEVEL: 'warn', RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000' } });
  try {
    const api = new Api(sys);
    await api.putProduct('SKU-BENCH', { name: 'Bench item', priceCents: 1000, currency: 'EUR', stock: 1_000_000 });
    const port = sys.ports['order-receiving'];
    const agent = new Agent({ keepAlive: true, maxSockets: INTAKE_CONCURRENCY });
    const run = Date.now().toString(36);
    // 1. intake, measured like the reference "bare intake" (intake + outbox relay, no consumers competing for
    //    the two cores): order-processing is stopped, so accepted orders (warm-up included) queue durably in RabbitMQ.
    await sys.kill('order-processing', 'SIGTERM');

    // warm-up (JIT, connection pools, prepared statements): steady state is what is measured
    await pool(2000, INTAKE_CONCURRENCY, (i) => post(agent, port, JSON.stringify(orderBody({ sku: 'SKU-BENCH', email: `w${i}@example.com` })), `warm-${run}-${i}`));

    const t0 = Date.now();
    const intake = await pool(INTAKE_ORDERS, INTAKE_CONCURRENCY, (i) =>
      post(agent, port, JSON.stringify(orderBody({ sku: 'SKU-BENCH', email: `b${i}@example.com` })), `bench-${run}-${i}`),
    );
    const intakeSecs = (Date.now() - t0) / 1000;
    const accepted = intake.filter((r) => r.status === 202);
    const lat = intake.map((r) => r.ms).sort((a, b) => a - b);
    console.log(`intake (order-processing stopped): ${accepted.length}/${INTAKE_ORDERS} accepted (202) in ${intakeSecs.toFixed(2)} s = ${(INTAKE_ORDERS / intakeSecs).toFixed(0)} req/s at concurrency ${INTAKE_CONCURRENCY}; latency p50 ${fmt(pct(lat, 50))}, p99 ${fmt(pct(lat, 99))}, max ${fmt(lat[lat.length - 1])}`);
    const others = intake.filter((r) => r.status !== 202);
    if (others.length) console.log(`  non-202 answers: ${JSON.stringify(others.slice(0, 3))}`);

    // 2. drain: order-processing starts and works off the backlog
    const ids = accepted.map((r) => (JSON.parse(r.body) as { id: string }).id);
    const tDrain = Date.now();
    await sys.launch('order-processing');
    await sys.waitReady('order-processing');
    const last = ids[ids.length - 1];
    for (;;) {
      const o = await api.order(last);
      if (['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'].includes(o.status)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const drainSecs = (Date.now() - tDrain) / 1000;
    console.log(`backlog: order-processing started with ${ids.length + 2000} orders queued (warm-up included); the last was final after ${drainSecs.toFixed(1)} s (${((ids.length + 2000) / drainSecs).toFixed(0)} orders/s through all four services)`);

    // 3. accept-to-final
    const waitAgent = new Agent({ keepAlive: true, maxSockets: LATENCY_CONCURRENCY });
    const single = await pool(LATENCY_ORDERS, LATENCY_CONCURRENCY, (i) =>
      post(waitAgent, port, JSON.stringify(orderBody({ sku: 'SKU-BENCH', email: `l${i}@example.com` })), `lat-${run}-${i}`, { prefer: 'wait=10' }),
    );
    const confirmed = single.filter((r) => r.status === 200 && (JSON.parse(r.body) as { status: string }).status === 'CONFIRMED');
    const fin = confirmed.map((r) => r.ms).sort((a, b) => a - b);
    console.log(`accept-to-final (POST with Prefer: wait=10 until CONFIRMED, concurrency ${LATENCY_CONCURRENCY}): ${confirmed.length}/${LATENCY_ORDERS} confirmed; median ${fmt(pct(fin, 50))}, p90 ${fmt(pct(fin, 90))}, p99 ${fmt(pct(fin, 99))}, max ${fmt(fin[fin.length - 1])}`);

    // 4. fairness: another tenant's orders while one tenant floods
    const floodStart = Date.now();
    const flood = pool(FLOOD_ORDERS, INTAKE_CONCURRENCY, (i) =>
      post(agent, port, JSON.stringify(orderBody({ sku: 'SKU-BENCH', email: `f${i}@example.com` })), `flood-${run}-${i}`),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const small: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await post(waitAgent, port, JSON.stringify(orderBody({ sku: 'SKU-BENCH', email: `s${i}@example.com` })), `small-${run}-${i}`, { prefer: 'wait=30' }, 'acme-key');
      if (r.status === 200) small.push(r.ms);
      await new Promise((res) => setTimeout(res, 300));
    }
    const flooded = await flood;
    const floodIds = flooded.filter((r) => r.status === 202).map((r) => (JSON.parse(r.body) as { id: string }).id);
    const lastFlood = floodIds[floodIds.length - 1];
    for (;;) {
      const o = await api.order(lastFlood);
      if (['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'].includes(o.status)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    small.sort((a, b) => a - b);
    console.log(`fairness: while tenant demo flooded ${FLOOD_ORDERS} orders (drained in ${((Date.now() - floodStart) / 1000).toFixed(1)} s), tenant acme's 10 orders went from POST to final in median ${fmt(pct(small, 50))}, max ${fmt(small[small.length - 1] ?? NaN)} (${small.length}/10 final within 30 s)`);
    agent.destroy();
    waitAgent.destroy();
  } finally {
    await sys.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
