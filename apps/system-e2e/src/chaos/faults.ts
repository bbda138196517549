import { SERVICE_NAMES, ServiceName, System } from '../system';
import { Infra } from './infra';
import { MailCollector } from './observers';

export interface FaultRecord {
  name: string;
  /** ISO time the fault began. */
  at: string;
  /** ms from the start of the fault until every service answered ready again. */
  durationMs: number;
  /** How long the part was held down on purpose (0 for a kill). */
  heldDownMs: number;
  error?: string;
}

export interface FaultContext {
  sys: System;
  infra: Infra;
  mail: MailCollector;
  settings: { brokerDownMs: number; pgDownMs: number; slowGatewayMs: number; paymentTimeoutMs: number; pgCluster: string };
  log: (line: string) => void;
  /** Waits until traffic has flowed again after a fault (some orders accepted), bounded. */
  trafficFlows: () => Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every service answers ready; one that exited on its own meanwhile is restarted by the runner, so keep waiting for it (bounded). */
export async function allReady(sys: System, timeoutMs = 150000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await Promise.all(SERVICE_NAMES.map((n) => sys.waitReady(n)));
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(1000); // between readiness polls of a bounded condition loop
    }
  }
}

async function setLatency(sys: System, latencyMs: number): Promise<void> {
  const res = await fetch(`${sys.url('payment-gateway-sim')}/control`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ latencyMs }),
  });
  if (res.status !== 200) throw new Error(`PUT /control: ${res.status} ${await res.text()}`);
}

/** kill -9 one process and start it again. The mail catcher's SMTP is frozen first so the suite loses no mail to its own kill. */
async function killService(ctx: FaultContext, n: ServiceName): Promise<void> {
  if (n === 'mail-catcher') await ctx.mail.freeze();
  await ctx.sys.kill(n, 'SIGKILL');
  await ctx.sys.launch(n);
  await ctx.sys.waitReady(n);
  if (n === 'mail-catcher') ctx.mail.thaw();
}

/**
 * Every fault, one after the other, with the storefront's traffic flowing
 * throughout. Each records how long the system took to answer ready again.
 * Whatever a fault stopped is started again even if it fails (Infra.restoreAll
 * is also called by the runner's finally and signal handlers).
 */
export async function runFaults(ctx: FaultContext, faults: FaultRecord[]): Promise<void> {
  const { sys, infra, settings: s } = ctx;
  const step = async (name: string, heldDownMs: number, body: () => Promise<void>) => {
    const started = Date.now();
    ctx.log(`fault: ${name}`);
    const rec: FaultRecord = { name, at: new Date(started).toISOString(), durationMs: 0, heldDownMs };
    faults.push(rec);
    try {
      await body();
      await allReady(sys);
    } catch (e) {
      rec.error = (e as Error).message.split('\n')[0];
      ctx.log(`fault ${name} went wrong: ${(e as Error).message}`);
      await infra.restoreAll(ctx.log);
      ctx.mail.thaw();
      await allReady(sys).catch(() => undefined);
    } finally {
      rec.durationMs = Date.now() - started;
    }
    ctx.log(`fault: ${name} over after ${rec.durationMs} ms`);
    await ctx.trafficFlows();
  };

  for (const n of ['order-receiving', 'order-processing', 'inventory', 'notification', 'payment-gateway-sim', 'mail-catcher'] as const) {
    await step(`kill -9 ${n}`, 0, () => killService(ctx, n));
  }
  await step(`broker stop_app ${s.brokerDownMs / 1000}s`, s.brokerDownMs, async () => {
    await infra.brokerStop();
    try {
      await sleep(s.brokerDownMs); // time is the subject: how long the broker stays down
    } finally {
      await infra.brokerStart();
    }
  });
  await step(`gateway latency ${s.paymentTimeoutMs * 3} ms > payment timeout, ${s.slowGatewayMs / 1000}s`, s.slowGatewayMs, async () => {
    await setLatency(sys, s.paymentTimeoutMs * 3);
    try {
      await sleep(s.slowGatewayMs); // time is the subject: how long the gateway stays slow
    } finally {
      await setLatency(sys, 0);
    }
  });
  await step(`PostgreSQL ${s.pgCluster} terminated (stop -m immediate, start)`, 0, async () => {
    await infra.pgStop('immediate');
    await infra.pgStart();
  });
  await step(`PostgreSQL ${s.pgCluster} stopped ${s.pgDownMs / 1000}s`, s.pgDownMs, async () => {
    await infra.pgStop('fast');
    try {
      await sleep(s.pgDownMs); // time is the subject: how long PostgreSQL stays down
    } finally {
      await infra.pgStart();
    }
  });
  await step('kill -9 order-processing while the backlog drains', 0, () => killService(ctx, 'order-processing'));
}
