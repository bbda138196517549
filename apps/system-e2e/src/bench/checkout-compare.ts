import { ChildProcess, spawn } from 'node:child_process';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { createTestDatabase } from '@orders/testing';
import { Client } from 'pg';
import { freePort, orderBody } from '../system';
import { Cost, OwnDb, Probe, startMeasurement, waitAllFinal } from './cost';
import { post, pool, r1, r2 } from './http';

/**
 * The platform against a synchronous checkout doing the same business
 * (reference-checkout.ts), in the same run: floods of one tenant's orders,
 * first POST → every order final, in alternating rounds (the order of each
 * pair swapped every other round, as the intake comparison does), each
 * round with what its orders cost (cost.ts).
 */
export interface CheckoutRef {
  port: number;
  pid: number;
  db: string;
  stop(): Promise<void>;
}

/** The reference checkout as its own process, with its own database holding `sku` with plenty of stock. */
export async function startCheckoutReference(gatewayUrl: string, sku: string): Promise<CheckoutRef> {
  const db = await createTestDatabase('bench_sync');
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, 'reference-checkout.js')], {
    env: { ...process.env, DATABASE_URL: db.url, GATEWAY_URL: gatewayUrl, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await db.drop();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`reference checkout exited (${code})`)));
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) resolve();
      });
    });
    const c = new Client({ connectionString: db.url });
    await c.connect();
    await c.query("INSERT INTO products (sku, name, price_cents, currency, stock) VALUES ($1, 'Bench item', 1000, 'EUR', 100000000)", [sku]);
    await c.end();
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, pid: child.pid ?? 0, db: db.name, stop };
}

export type Target = 'platform' | 'sync';

export interface CompareRound {
  target: Target;
  orders: number;
  seconds: number;
  ordersPerSec: number;
  /** Final statuses (platform: from the read model; sync: the answers). */
  outcomes: Record<string, number>;
  /** Answers other than 202 (platform) or 200 (sync). */
  unexpected: number;
  /** What its orders cost (absent for the warm-up rounds, which are not measured). */
  cost?: Cost;
}

export interface CompareSetup {
  orderReceivingPort: number;
  ref: CheckoutRef;
  /** Probe of the platform's rounds (its databases, processes, broker and metrics); the sync rounds use refProbe. */
  platformProbe: Probe & { platform: NonNullable<Probe['platform']> };
  refProbe: Probe;
  sku: string;
  run: string;
}

export interface CompareOptions {
  orders: number;
  concurrency: number;
  rounds: number;
  warmup: number;
}

async function platformRound(s: CompareSetup, n: number, concurrency: number, tag: string, measure: boolean): Promise<CompareRound> {
  const own: OwnDb = s.platformProbe.platform.own;
  const m = measure ? await startMeasurement(s.platformProbe) : undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const t0 = Date.now();
  const answers = await pool(n, concurrency, (i) => post(agent, s.orderReceivingPort, orderBody({ sku: s.sku }), `${tag}-${i}`));
  const ids = answers.filter((a) => a.status === 202).map((a) => (JSON.parse(a.body) as { id: string }).id);
  await waitAllFinal(own, ids);
  const seconds = (Date.now() - t0) / 1000;
  agent.destroy();
  const cost = m ? await m.stop(ids.length) : undefined;
  const rows = await own.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM receiving.orders WHERE id = ANY($1) GROUP BY status', [ids]);
  const outcomes = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  return { target: 'platform', orders: ids.length, seconds: r1(seconds), ordersPerSec: r1(ids.length / seconds), outcomes, unexpected: n - ids.length, cost };
}

async function syncRound(s: CompareSetup, n: number, concurrency: number, tag: string, measure: boolean): Promise<CompareRound> {
  const m = measure ? await startMeasurement(s.refProbe) : undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const t0 = Date.now();
  const answers = await pool(n, concurrency, (i) => post(agent, s.ref.port, orderBody({ sku: s.sku }), `${tag}-${i}`));
  const seconds = (Date.now() - t0) / 1000;
  agent.destroy();
  const ok = answers.filter((a) => a.status === 200);
  const cost = m ? await m.stop(ok.length) : undefined;
  const outcomes: Record<string, number> = {};
  for (const a of ok) {
    const st = (JSON.parse(a.body) as { status: string }).status;
    outcomes[st] = (outcomes[st] ?? 0) + 1;
  }
  return { target: 'sync', orders: ok.length, seconds: r1(seconds), ordersPerSec: r1(ok.length / seconds), outcomes, unexpected: n - ok.length, cost };
}

export interface CompareResult {
  orders: number;
  concurrency: number;
  rounds: CompareRound[];
  platformOrdersPerSec: number;
  syncOrdersPerSec: number;
  /** Mean of the platform's rounds ÷ mean of the sync rounds. */
  ratio: number;
}

export async function compareCheckout(s: CompareSetup, o: CompareOptions): Promise<CompareResult> {
  if (o.warmup > 0) {
    // not measured: JIT, pools, plans of both sides
    await syncRound(s, o.warmup, o.concurrency, `cwsync-${s.run}`, false);
    await platformRound(s, o.warmup, o.concurrency, `cwplat-${s.run}`, false);
  }
  const rounds: CompareRound[] = [];
  for (let i = 0; i < o.rounds; i++) {
    const pair = [
      () => platformRound(s, o.orders, o.concurrency, `cplat-${s.run}-${i}`, true),
      () => syncRound(s, o.orders, o.concurrency, `csync-${s.run}-${i}`, true),
    ];
    if (i % 2) pair.reverse();
    for (const go of pair) {
      const r = await go();
      console.log(`  compare round ${rounds.length + 1}: ${r.target} ${r.orders} orders in ${r.seconds} s = ${r.ordersPerSec} orders/s`);
      rounds.push(r);
    }
  }
  const mean = (t: Target) => {
    const rs = rounds.filter((r) => r.target === t);
    return rs.reduce((a, r) => a + r.ordersPerSec, 0) / rs.length;
  };
  return { orders: o.orders, concurrency: o.concurrency, rounds, platformOrdersPerSec: r1(mean('platform')), syncOrdersPerSec: r1(mean('sync')), ratio: r2(mean('platform') / mean('sync')) };
}
