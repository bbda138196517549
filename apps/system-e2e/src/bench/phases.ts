import { Agent } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { currentRssMiB, peakRssMiB } from '../proc-stats';
import { orderBody, SERVICE_NAMES, System } from '../system';
import { Cost, FINAL, OwnDb, Probe, startMeasurement, waitAllFinal } from './cost';
import { Answer, pct, pool, post, r1 } from './http';
import { intakeRound, Round, startReference, summarize } from './intake-compare';
import { startSmallTenant } from './small-tenant';
import { readSteps, stepsBetween } from './steps';

/** The bench's phases before the checkout comparison: intake against the bare reference, idle accept → final, the flood with fairness, memory. */
export interface Ctx {
  sys: System;
  own: OwnDb;
  run: string;
  port: number;
  /** Probe of the platform's databases, processes, broker and metrics (cost.ts). */
  probe: Probe & { platform: NonNullable<Probe['platform']> };
  /** Stops of what a phase started and still runs: the bench's teardown calls them if it is interrupted. */
  running: Set<() => Promise<void>>;
}

export interface IntakeResult {
  connections: number;
  roundSeconds: number;
  rounds: Round[];
  orderReceiving: ReturnType<typeof summarize>;
  reference: ReturnType<typeof summarize>;
  ratio: number;
}

/** 1. intake (order-receiving + its relay) against the bare reference intake, alternating autocannon rounds; order-processing must be stopped. */
export async function intakePhase(c: Ctx, o: { rounds: number; roundSeconds: number; connections: number }): Promise<IntakeResult> {
  const body = JSON.stringify(orderBody({ sku: 'SKU-BENCH' }));
  const ref = await startReference();
  const stop = () => ref.stop();
  c.running.add(stop);
  const rounds: Round[] = [];
  try {
    await intakeRound('reference', ref.port, body, 3, o.connections, `wref-${c.run}`); // warm-up (JIT, pools, plans)
    await intakeRound('order-receiving', c.port, body, 3, o.connections, `wour-${c.run}`);
    for (let i = 0; i < o.rounds; i++) {
      const pair = [
        () => intakeRound('reference', ref.port, body, o.roundSeconds, o.connections, `ref-${c.run}-${i}`),
        () => intakeRound('order-receiving', c.port, body, o.roundSeconds, o.connections, `our-${c.run}-${i}`),
      ];
      if (i % 2) pair.reverse();
      for (const go of pair) rounds.push(await go());
    }
  } finally {
    c.running.delete(stop);
    await ref.stop();
  }
  const ours = summarize(rounds, 'order-receiving');
  const bare = summarize(rounds, 'reference');
  return { connections: o.connections, roundSeconds: o.roundSeconds, rounds, orderReceiving: ours, reference: bare, ratio: Math.round((ours.reqPerSec / bare.reqPerSec) * 100) / 100 };
}

interface FinalOrder { id: string; status: string; history: Array<{ status: string; at: string }> }
/** Milliseconds of an order spent waiting for admission (PENDING → PROCESSING) and in the saga (PROCESSING → final). */
function stages(a: Answer): { id: string; total: number; admission: number; saga: number; rest: number; intake: number; push: number } | undefined {
  if (a.status !== 200) return undefined;
  const o = JSON.parse(a.body) as FinalOrder;
  const at = (s: string) => Date.parse(o.history.find((h) => h.status === s)?.at ?? '');
  const pending = at('PENDING');
  const processing = at('PROCESSING');
  const final = Date.parse(o.history[o.history.length - 1].at);
  if (!FINAL.includes(o.status) || Number.isNaN(processing)) return undefined;
  // intake: sent → PENDING stored; push: final stored → the answer received (the read model's queue, NOTIFY, the re-read)
  return { id: o.id, total: a.ms, admission: processing - pending, saga: final - processing, rest: a.ms - (final - pending), intake: pending - a.sentAt, push: a.sentAt + a.ms - final };
}

export interface LatencyResult {
  acceptToFinal: { orders: number; confirmed: number; p50Ms: number; p90Ms: number; p99Ms: number; meanMsPerStep: ReturnType<typeof stepsBetween> };
  smallIdle: number[];
  idleSplit: Array<NonNullable<ReturnType<typeof stages>>>;
}

/** 2. accept → final, one order at a time, idle (Prefer: wait); the small tenant's idle figure too. */
export async function latencyPhase(c: Ctx, o: { orders: number; smallOrders: number }): Promise<LatencyResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    await pool(50, 1, (i) => post(agent, c.port, orderBody({ sku: 'SKU-BENCH' }), `lwarm-${c.run}-${i}`, { prefer: 'wait=10' }));
    const stepsBefore = await readSteps(c.probe.platform.metricsUrls);
    const single = await pool(o.orders, 1, (i) => post(agent, c.port, orderBody({ sku: 'SKU-BENCH' }), `lat-${c.run}-${i}`, { prefer: 'wait=10' }));
    const steps = stepsBetween(stepsBefore, await readSteps(c.probe.platform.metricsUrls));
    const fin = single.filter((a) => a.status === 200 && (JSON.parse(a.body) as FinalOrder).status === 'CONFIRMED').map((a) => a.ms);
    // the small tenant's client on its own thread, as during the flood (small-tenant.ts)
    const smallIdleClient = await startSmallTenant({ port: c.port, orders: o.smallOrders, keyPrefix: `sidle-${c.run}`, pacingMs: 0 });
    const smallIdleAnswers = await smallIdleClient.go().finally(() => smallIdleClient.stop());
    return {
      acceptToFinal: { orders: o.orders, confirmed: fin.length, p50Ms: r1(pct(fin, 50)), p90Ms: r1(pct(fin, 90)), p99Ms: r1(pct(fin, 99)), meanMsPerStep: steps },
      smallIdle: smallIdleAnswers.filter((a) => a.status === 200).map((a) => a.ms),
      idleSplit: smallIdleAnswers.map(stages).filter((x): x is NonNullable<typeof x> => !!x),
    };
  } finally {
    agent.destroy();
  }
}

export interface FloodResult {
  flood: {
    orders: number; concurrency: number; intakeSeconds: number; secondsToAllFinal: number; ordersPerSec: number;
    cpuMsPerOrder: Record<string, number>; cpuMsPerOrderTotal: number; smallDuringFlood: string; cost: Cost;
  };
  fairness: {
    smallTenantIdle: { orders: number; p50Ms: number; p99Ms: number; medianStagesMs: Record<string, number> };
    smallTenantDuringFlood: { orders: number; p50Ms: number; p99Ms: number };
    /** The small tenant's orders sent while the flood was still being posted (its intake burst), and those sent after, while it was processed. */
    byFloodPhase: Record<'whileFloodPosted' | 'whileFloodProcessed', { orders: number; p50Ms: number; p99Ms: number }>;
    ratioP99: number;
    medianStagesMs: Record<string, number>;
    slowestStagesMs: Array<Record<string, number | string>>;
    /** The load generator's own event loop delay during the flood (this process): time a request waits here counts in its intake. */
    loadGeneratorDelayMs: { p99: number; max: number };
  };
  rssMiB: Record<string, { afterFlood: number; peak: number }>;
}

/**
 * 3. the flood: `orders` of one tenant, first POST → all final, with the small tenant's orders during it, and what
 * the flood's orders cost (cost.ts: CPU up to all final as before, and up to every queue drained); 4. each service's RSS after it.
 */
export async function floodPhase(c: Ctx, latency: LatencyResult, o: { orders: number; concurrency: number; smallOrders: number }): Promise<FloodResult> {
  const floodAgent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  // the small tenant's client on a thread of its own (small-tenant.ts), loaded before the flood starts
  const small = await startSmallTenant({ port: c.port, orders: o.smallOrders, keyPrefix: `small-${c.run}`, pacingMs: 200 });
  const stopSmall = () => small.stop();
  c.running.add(stopSmall);
  const m = await startMeasurement(c.probe);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = Date.now();
  let floodPostedAt = Infinity;
  let floodAnswered = 0;
  let floodUnderWay: () => void = () => undefined;
  const underWay = new Promise<void>((r) => (floodUnderWay = r));
  const flood = pool(o.orders, o.concurrency, async (i) => {
    const a = await post(floodAgent, c.port, orderBody({ sku: 'SKU-BENCH' }), `flood-${c.run}-${i}`);
    if (++floodAnswered === o.concurrency) floodUnderWay();
    return a;
  }).then((r) => {
    floodUnderWay();
    floodPostedAt = Date.now();
    return r;
  });
  await underWay; // the flood's first wave answered: the small tenant's orders meet a flood in full swing
  const smallDuring: Answer[] = await small.go().finally(() => (c.running.delete(stopSmall), small.stop()));
  const floodIds = (await flood).filter((a) => a.status === 202).map((a) => (JSON.parse(a.body) as { id: string }).id);
  /** Per small order: whether the flood's orders were still being posted when it was sent (the intake burst) or only processed. */
  const whilePosted = smallDuring.map((a) => a.sentAt < floodPostedAt);
  const intakeSecs = (Date.now() - t0) / 1000;
  loop.disable();
  await waitAllFinal(c.own, floodIds);
  const floodSecs = (Date.now() - t0) / 1000;
  m.markFinal();
  const rssMiB = Object.fromEntries(SERVICE_NAMES.map((n) => [n, { afterFlood: Math.round(currentRssMiB(c.sys.pid(n) ?? 0)), peak: Math.round(peakRssMiB(c.sys.pid(n) ?? 0)) }]));
  floodAgent.destroy();
  const cost = await m.stop(floodIds.length + o.smallOrders);
  const during = smallDuring.filter((a) => a.status === 200).map((a) => a.ms);
  const part = (posted: boolean) => {
    const ms = smallDuring.filter((a, i) => a.status === 200 && whilePosted[i] === posted).map((a) => a.ms);
    return { orders: ms.length, p50Ms: ms.length ? r1(pct(ms, 50)) : 0, p99Ms: ms.length ? r1(pct(ms, 99)) : 0 };
  };
  const split = smallDuring.map((a, n) => { const s = stages(a); return s && { ...s, n }; }).filter((s): s is NonNullable<typeof s> => !!s);
  const med = (f: (s: (typeof split)[number]) => number) => r1(pct(split.map(f), 50));
  const { smallIdle, idleSplit } = latency;
  return {
    flood: {
      orders: floodIds.length, concurrency: o.concurrency, intakeSeconds: r1(intakeSecs), secondsToAllFinal: r1(floodSecs),
      ordersPerSec: Math.round(floodIds.length / floodSecs),
      // first POST → all final, as earlier runs measured it; cost.cpuMsPerOrder runs on until every queue is drained
      cpuMsPerOrder: cost.toAllFinal?.cpuMsPerOrder ?? cost.cpuMsPerOrder, cpuMsPerOrderTotal: cost.toAllFinal?.cpuMsPerOrderTotal ?? cost.cpuMsPerOrderTotal,
      smallDuringFlood: whilePosted.every(Boolean) ? 'every small order was placed while the flood was being posted' : 'the flood intake ended before the small tenant finished',
      cost,
    },
    fairness: {
      smallTenantIdle: {
        orders: smallIdle.length, p50Ms: r1(pct(smallIdle, 50)), p99Ms: r1(pct(smallIdle, 99)),
        medianStagesMs: { admission: r1(pct(idleSplit.map((x) => x.admission), 50)), saga: r1(pct(idleSplit.map((x) => x.saga), 50)), intakeAndPush: r1(pct(idleSplit.map((x) => x.rest), 50)) },
      },
      smallTenantDuringFlood: { orders: during.length, p50Ms: r1(pct(during, 50)), p99Ms: r1(pct(during, 99)) },
      byFloodPhase: { whileFloodPosted: part(true), whileFloodProcessed: part(false) },
      ratioP99: Math.round((pct(during, 99) / pct(smallIdle, 99)) * 10) / 10,
      medianStagesMs: { total: med((s) => s.total), admission: med((s) => s.admission), saga: med((s) => s.saga), intakeAndPush: med((s) => s.rest), intake: med((s) => s.intake), push: med((s) => s.push) },
      loadGeneratorDelayMs: { p99: r1(loop.percentile(99) / 1e6), max: r1(loop.max / 1e6) },
      slowestStagesMs: [...split].sort((x, y) => y.total - x.total).slice(0, 3).map((s) => ({ id: s.id, n: s.n, total: r1(s.total), admission: s.admission, saga: s.saga, intakeAndPush: r1(s.rest), intake: r1(s.intake), push: r1(s.push) })),
    },
    rssMiB,
  };
}
