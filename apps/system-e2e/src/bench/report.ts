import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../system';
import { CompareResult, CompareRound, Target } from './checkout-compare';
import { Cost } from './cost';
import { r2 } from './http';
import { FloodResult, IntakeResult, LatencyResult } from './phases';

/** The printed table and apps/system-e2e/artifacts/bench.json. */
export interface Results {
  machine: string;
  notes: string[];
  intake?: IntakeResult;
  acceptToFinal?: LatencyResult['acceptToFinal'];
  flood?: FloodResult['flood'];
  fairness?: FloodResult['fairness'];
  rssMiB?: FloodResult['rssMiB'];
  compare?: CompareResult & { platformCost: MeanCost; syncCost: MeanCost };
}

type Row = [string, string];
const list = (r: Record<string, number>, unit = '') => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([n, v]) => `${n} ${v}${unit}`).join(', ');

/** Per-order figures averaged over rounds (each round's figures are in bench.json). */
export interface MeanCost {
  rounds: number;
  cpuMsPerOrder: Record<string, number>;
  cpuMsPerOrderTotal: number;
  pgBackendCpuMsPerOrder: Record<string, number>;
  commitsPerOrder: Record<string, number>;
  rowsWrittenPerOrder: Record<string, number>;
  statementsPerOrder: Record<string, number> | null;
  deliveriesPerOrder?: number;
  deliveriesPerQueue?: Record<string, number>;
  handledPerOrder?: number;
  handledPerQueue?: Record<string, number>;
  publishesPerOrder?: number;
  redeliveriesPerOrder?: number;
}

function meanOf(records: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v / records.length;
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, r2(v)]));
}

export function meanCost(rounds: CompareRound[], target: Target): MeanCost {
  const cs = rounds.filter((r) => r.target === target && r.cost).map((r) => r.cost as Cost);
  const m = (f: (c: Cost) => number) => r2(cs.reduce((a, c) => a + f(c), 0) / cs.length);
  const perDb = (f: (d: Cost['db'][string]) => number) => meanOf(cs.map((c) => Object.fromEntries(Object.entries(c.db).map(([l, d]) => [l, f(d)]))));
  const withBroker = cs.filter((c) => c.broker);
  return {
    rounds: cs.length,
    cpuMsPerOrder: meanOf(cs.map((c) => c.cpuMsPerOrder)),
    cpuMsPerOrderTotal: m((c) => c.cpuMsPerOrderTotal),
    pgBackendCpuMsPerOrder: meanOf(cs.map((c) => c.pgBackendCpuMsPerOrder)),
    commitsPerOrder: perDb((d) => d.commitsPerOrder),
    rowsWrittenPerOrder: perDb((d) => d.rowsInsertedPerOrder + d.rowsUpdatedPerOrder + d.rowsDeletedPerOrder),
    statementsPerOrder: cs.every((c) => Object.values(c.db).every((d) => d.statementsPerOrder !== null)) ? perDb((d) => d.statementsPerOrder ?? 0) : null,
    ...(withBroker.length === cs.length && cs.length
      ? {
          deliveriesPerOrder: m((c) => c.broker!.deliveriesPerOrder),
          deliveriesPerQueue: meanOf(cs.map((c) => Object.fromEntries(c.broker!.perQueue.map((q) => [q.queue, q.deliveriesPerOrder])))),
          handledPerOrder: m((c) => c.broker!.handledPerOrder.total),
          handledPerQueue: meanOf(cs.map((c) => Object.fromEntries(c.broker!.handledPerOrder.perQueue.map((q) => [q.queue, q.perOrder])))),
          publishesPerOrder: m((c) => c.broker!.publishesPerOrder),
          redeliveriesPerOrder: m((c) => c.broker!.redeliveriesPerOrder),
        }
      : {}),
  };
}

/** Rows of one measured stretch's cost: broker, PostgreSQL, CPU. */
function costRows(c: MeanCost, what: string, cpuWindow = ''): Row[] {
  const rows: Row[] = [];
  if (c.deliveriesPerOrder !== undefined) {
    rows.push([`${what}: broker deliveries per order`, `${c.deliveriesPerOrder} (redelivered ${c.redeliveriesPerOrder}); per queue ${list(c.deliveriesPerQueue ?? {})}`]);
    rows.push(['  the services\' own count (messages_handled_total)', `${c.handledPerOrder}; per queue ${list(c.handledPerQueue ?? {})}`]);
    rows.push([`${what}: publishes per order (events exchange)`, `${c.publishesPerOrder}`]);
  }
  const dbTotal = r2(Object.values(c.commitsPerOrder).reduce((a, b) => a + b, 0));
  rows.push([`${what}: PostgreSQL transactions per order`, `${dbTotal}: ${list(c.commitsPerOrder)}`]);
  rows.push(['  rows written per order (ins+upd+del)', list(c.rowsWrittenPerOrder)]);
  if (c.statementsPerOrder) rows.push(['  statements per order (pg_stat_statements)', list(c.statementsPerOrder)]);
  rows.push([`${what}: CPU ms per order${cpuWindow}`, `${c.cpuMsPerOrderTotal} (${list(c.cpuMsPerOrder)})`]);
  const outside = Object.entries(c.cpuMsPerOrder).filter(([n]) => EXTERNAL.has(n));
  if (outside.length) {
    const own = r2(c.cpuMsPerOrderTotal - outside.reduce((a, [, v]) => a + v, 0));
    rows.push(['  without the simulated outside world', `${own} (the gateway simulator, mail catcher and demo shop: ${outside.map(([n, v]) => `${n} ${v}`).join(', ')})`]);
  }
  rows.push(['  of which its databases\' PostgreSQL backends', list(c.pgBackendCpuMsPerOrder)]);
  return rows;
}

/** Processes that stand in for what is outside the platform in production (an SMTP provider, the payment gateway, a shop). */
const EXTERNAL = new Set(['payment-gateway-sim', 'mail-catcher', 'storefront-demo']);

/** A single measurement as a MeanCost of one round. */
function single(c: Cost): MeanCost {
  return meanCost([{ target: 'platform', orders: c.orders, seconds: 0, ordersPerSec: 0, outcomes: {}, unexpected: 0, cost: c }], 'platform');
}

export function report(results: Results, onlyIntake: boolean): void {
  const rows: Row[] = [];
  const i = results.intake;
  if (i && onlyIntake) {
    for (const r of i.rounds) console.log(`  round ${r.target.padEnd(15)} ${r.reqPerSec} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);
    console.log(`order-receiving ${i.orderReceiving.reqPerSec} req/s (p99 ${i.orderReceiving.p99Ms} ms), reference ${i.reference.reqPerSec} req/s (p99 ${i.reference.p99Ms} ms): ratio ${i.ratio}`);
  } else if (i) {
    rows.push([`intake, autocannon c=${i.connections} (order-receiving + relay)`, `${i.orderReceiving.reqPerSec} req/s, p50 ${i.orderReceiving.p50Ms} ms, p99 ${i.orderReceiving.p99Ms} ms, non-2xx ${i.orderReceiving.non2xx}`]);
    rows.push(['intake, bare reference, same run', `${i.reference.reqPerSec} req/s, p50 ${i.reference.p50Ms} ms, p99 ${i.reference.p99Ms} ms`]);
    rows.push(['intake ratio (ours ÷ reference)', `${i.ratio}`]);
  }
  const a = results.acceptToFinal;
  if (a) {
    rows.push(['accept → final, one at a time (Prefer: wait)', `p50 ${a.p50Ms} ms, p99 ${a.p99Ms} ms (${a.confirmed}/${a.orders} confirmed)`]);
    rows.push(...a.meanMsPerStep.map((st, n): Row => [`  ${n === 0 ? 'its steps (mean ms, times)' : ''}`, `${st.meanMs} ms × ${st.times}  ${st.step}`]));
  }
  const f = results.flood;
  const fa = results.fairness;
  if (f && fa) {
    rows.push([`flood of ${f.orders} orders, first POST → all final`, `${f.secondsToAllFinal} s = ${f.ordersPerSec} orders/s`]);
    rows.push(['CPU ms per order during the flood (to all final)', `${f.cpuMsPerOrderTotal} (${Object.entries(f.cpuMsPerOrder).map(([n, v]) => `${n} ${v}`).join(', ')})`]);
    rows.push(...costRows(single(f.cost), 'flood', `, to every queue drained (${f.cost.drainSeconds} s after all final)`));
    rows.push(['small tenant accept → final, idle', `p50 ${fa.smallTenantIdle.p50Ms} ms, p99 ${fa.smallTenantIdle.p99Ms} ms; median stages ${Object.entries(fa.smallTenantIdle.medianStagesMs).map(([k, v]) => `${k} ${v} ms`).join(', ')}`]);
    rows.push(['small tenant during the flood', `p50 ${fa.smallTenantDuringFlood.p50Ms} ms, p99 ${fa.smallTenantDuringFlood.p99Ms} ms (${fa.smallTenantDuringFlood.orders} orders); ratio of p99s ${fa.ratioP99}`]);
    const ph = fa.byFloodPhase;
    rows.push(['  sent while the flood was posted / processed', `p50 ${ph.whileFloodPosted.p50Ms} / ${ph.whileFloodProcessed.p50Ms} ms, p99 ${ph.whileFloodPosted.p99Ms} / ${ph.whileFloodProcessed.p99Ms} ms (${ph.whileFloodPosted.orders} / ${ph.whileFloodProcessed.orders} orders)`]);
    rows.push(['  its median stages', Object.entries(fa.medianStagesMs).map(([k, v]) => `${k} ${v} ms`).join(', ')]);
    rows.push(...fa.slowestStagesMs.map((st, n): Row => [`  ${n === 0 ? 'its slowest three' : ''}`, Object.entries(st).map(([k, v]) => (k === 'id' ? `order ${v}` : k === 'n' ? `sent ${Number(v) + 1}.` : `${k} ${v} ms`)).join(', ')]));
    rows.push(['  the load generator\'s own event loop delay', `p99 ${fa.loadGeneratorDelayMs.p99} ms, max ${fa.loadGeneratorDelayMs.max} ms (while the flood was posted and the small orders sent)`]);
  }
  if (results.rssMiB) rows.push(['RSS after the flood / peak (MiB)', Object.entries(results.rssMiB).map(([n, v]) => `${n} ${v.afterFlood}/${v.peak}`).join(', ')]);
  const c = results.compare;
  if (c) {
    rows.push([`checkout compared: ${c.orders} orders of one tenant, c=${c.concurrency}`, 'first POST → all final, rounds in this order:']);
    for (const r of c.rounds) {
      const outcome = Object.entries(r.outcomes).map(([s, n]) => `${s} ${n}`).join(', ');
      rows.push([`  ${r.target === 'platform' ? 'platform (202, then final)' : 'sync checkout (200 = final)'}`, `${r.seconds} s = ${r.ordersPerSec} orders/s (${outcome}${r.unexpected ? `; ${r.unexpected} unexpected answers` : ''})`]);
    }
    rows.push(['  mean: platform / sync checkout', `${c.platformOrdersPerSec} / ${c.syncOrdersPerSec} orders/s`]);
    rows.push(['  ratio (platform ÷ sync checkout)', `${c.ratio}`]);
    rows.push(...costRows(c.platformCost, 'platform', ' (to every queue drained)'));
    rows.push(...costRows(c.syncCost, 'sync checkout'));
  }
  if (rows.length) {
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  }
  for (const n of results.notes) console.log(`note: ${n}`);
  const out = join(ROOT, 'apps', 'system-e2e', 'artifacts');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'bench.json'), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
  console.log(`written: ${join(out, 'bench.json')}`);
}
