import { Agent } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { orderBody } from '../system';
import { Answer, post } from './http';

/**
 * The small tenant's client: its orders one at a time (`Prefer: wait`), on a
 * thread of its own. Another tenant is another shop's client; on the flood
 * generator's thread its timings also held that thread's own stalls (its
 * event loop is late by up to ~190 ms while it posts a flood at c=32), which
 * no order of the platform spends. The machine's CPU is still shared.
 */
export interface SmallTenantJob {
  port: number;
  orders: number;
  /** Idempotency keys are `${keyPrefix}-${i}`. */
  keyPrefix: string;
  /** Between one answer and the next order. */
  pacingMs: number;
}

/** Orders the thread sends before it is ready (not counted): its isolate's code and its connections warm, as the flood generator's are. */
const WARM_UP_ORDERS = 10;

export interface SmallTenantClient {
  /** Sends the orders now (the thread is loaded and waiting); their answers, in order. */
  go(): Promise<Answer[]>;
  stop(): Promise<void>;
}

/** Starts the client's thread; resolves once it is loaded and warm, so neither delays the first order. */
export function startSmallTenant(job: SmallTenantJob): Promise<SmallTenantClient> {
  const w = new Worker(__filename, { workerData: job });
  let answered: (a: Answer[]) => void = () => undefined;
  let failed: (e: unknown) => void = () => undefined;
  const answers = new Promise<Answer[]>((resolve, reject) => ((answered = resolve), (failed = reject)));
  return new Promise((resolve, reject) => {
    w.on('message', (m: { ready: true } | { answers: Answer[] }) => {
      if ('ready' in m) resolve({ go: () => (w.postMessage('go'), answers), stop: async () => void (await w.terminate()) });
      else answered(m.answers);
    });
    const fail = (e: unknown) => (reject(e), failed(e));
    w.once('error', fail);
    w.once('exit', (code) => code !== 0 && fail(new Error(`the small tenant's client thread exited with ${code}`)));
  });
}

const order = (agent: Agent, job: SmallTenantJob, key: string) => post(agent, job.port, orderBody({ sku: 'SKU-BENCH' }), key, { prefer: 'wait=30' }, 'acme-key');

async function run(job: SmallTenantJob, agent: Agent): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < job.orders; i++) {
    out.push(await order(agent, job, `${job.keyPrefix}-${i}`));
    if (job.pacingMs > 0) await new Promise((r) => setTimeout(r, job.pacingMs)); // the small tenant's orders spread over the flood
  }
  return out;
}

async function thread(port: NonNullable<typeof parentPort>, job: SmallTenantJob): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  for (let i = 0; i < WARM_UP_ORDERS; i++) await order(agent, job, `${job.keyPrefix}-warm-${i}`);
  const go = new Promise((r) => port.once('message', r));
  port.postMessage({ ready: true });
  await go;
  const answers = await run(job, agent).finally(() => agent.destroy());
  port.postMessage({ answers });
}

if (!isMainThread && parentPort && (workerData as Partial<SmallTenantJob> | undefined)?.keyPrefix) void thread(parentPort, workerData as SmallTenantJob);
