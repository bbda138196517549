// Must load first: points the testing library at the PostgreSQL and RabbitMQ the suite breaks.
import { SETTINGS } from './settings';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, WriteStream, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFinalStatus } from '@orders/contracts';
import { TEST_RABBITMQ_URL, TestBus } from '@orders/testing';
import { ADMIN_TOKEN, freePort, SERVICE_NAMES, ServiceName, System } from '../system';
import { audit, authorizations, gatewayLedger, Ledger, OrderView, readOrder } from './auditor';
import { annotateWithProcessing, annotateWithSettlements, attemptsUsedByOutages, reservationDiagnostics } from './diagnostics';
import { allReady, FaultRecord, runFaults } from './faults';
import { Infra } from './infra';
import { MailCollector, WebhookReceiver } from './observers';
import { renderReport } from './report';
import { PlacedOrder, seededRandom, Storefront } from './storefront';

/**
 * npm run chaos: the whole system as processes under a storefront's traffic
 * while every part of it fails in turn; then an auditor checks that every
 * order ended and that stock, money, emails, webhooks and dead letters add up.
 * Prints the figures; exits 1 on any violation. See README "Chaos suite".
 */
const S = SETTINGS;
const TENANTS = [{ tenant: 'demo', apiKey: 'demo-key' }, { tenant: 'acme', apiKey: 'acme-key' }];
const PRODUCTS: Array<[string, number, number]> = [['CHAOS-TEE', 1999, 100000], ['CHAOS-MUG', 899, 100000], ['CHAOS-RARE', 4999, 40], ['CHAOS-BOOK', 2500, 100000]];
const COUPON = 'CHAOS10';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (line: string) => process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function call(url: string, method: string, auth: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${auth}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

async function seed(sys: System, hookUrl: string): Promise<Map<string, number>> {
  const stock = new Map<string, number>();
  for (const [sku, priceCents, units] of PRODUCTS) {
    const r = await call(`${sys.url('inventory')}/products/${sku}`, 'PUT', ADMIN_TOKEN, { name: sku, priceCents, currency: 'EUR', stock: units });
    if (r.status >= 300) throw new Error(`PUT product ${sku}: ${r.status} ${r.text}`);
    stock.set(sku, units);
  }
  const p = await call(`${sys.url('order-processing')}/promotions/${COUPON}`, 'PUT', ADMIN_TOKEN, { type: 'percent', value: 10 });
  if (p.status >= 300) throw new Error(`PUT promotion: ${p.status} ${p.text}`);
  for (const t of TENANTS) {
    const w = await call(`${sys.url('notification')}/webhooks`, 'POST', t.apiKey, { url: `${hookUrl}/${t.tenant}` });
    if (w.status >= 300) throw new Error(`POST /webhooks for ${t.tenant}: ${w.status} ${w.text}`);
  }
  return stock;
}

/** Polls the orders not yet final until all are, or the deadline passes. */
async function waitFinal(sys: System, orders: PlacedOrder[], views: Map<string, OrderView>, deadline: number): Promise<void> {
  let open = orders.filter((o) => o.id);
  while (open.length) {
    const next: PlacedOrder[] = [];
    for (let i = 0; i < open.length; i += 8) {
      await Promise.all(open.slice(i, i + 8).map(async (o) => {
        const v = await readOrder(sys, o).catch(() => undefined);
        if (v) views.set(o.id!, v);
        if (!v || !isFinalStatus(v.status)) next.push(o);
      }));
    }
    open = next;
    if (!open.length || Date.now() > deadline) break;
    log(`${open.length} order(s) not final yet (${Math.round((deadline - Date.now()) / 1000)} s left)`);
    await sleep(3000); // between polls of a bounded condition loop (every order final)
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const ownLogDir = !S.logDir;
  const logDir = S.logDir || mkdtempSync(join(tmpdir(), 'chaos-'));
  mkdirSync(logDir, { recursive: true });
  const streams = new Map<ServiceName, WriteStream>(SERVICE_NAMES.map((n) => [n, createWriteStream(join(logDir, `${n}.log`), { flags: 'a' })]));
  const infra = new Infra(S);
  const smtpPort = await freePort();
  const hooks = new WebhookReceiver();
  let sys: System | undefined;
  const mail = new MailCollector(smtpPort, () => sys!.url('mail-catcher'));
  const unexpectedExits: string[] = [];
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      await infra.restoreAll(log);
      mail.thaw();
      await sys?.stop().catch((e: Error) => log(`stopping the system: ${e.message}`));
      await mail.proxy.stop();
      await hooks.stop();
      for (const s of streams.values()) s.end();
    })());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      log(`${sig}: restoring what the suite stopped, then exiting`);
      void cleanup().finally(() => {
        if (ownLogDir) rmSync(logDir, { recursive: true, force: true });
        process.exit(130);
      });
    });
  }

  try {
    log(`PostgreSQL ${S.pgCluster} on ${S.pgPort}, RabbitMQ ${S.rabbitNode || '(default node)'} on ${S.rabbitPort}; ${S.replicas} instance(s) of each service; ${S.queueType} queues; seed ${S.seed}; logs in ${logDir}`);
    const proxyPort = await mail.proxy.start();
    const hookUrl = await hooks.start();
    sys = new System({
      smtpPort,
      env: {
        RETRY_DELAYS_MS: '500,1000,2000',
        PAYMENT_WAIT_DELAYS_MS: '500,1000,2000,4000',
        PAYMENT_TIMEOUT_MS: String(S.paymentTimeoutMs),
        PAYMENT_MAX_WAIT_MS: String(Math.floor(S.orderMaxAgeMs / 2)),
        BREAKER_RESET_MS: '2000',
        ORDER_MAX_AGE_MS: String(S.orderMaxAgeMs),
        STUCK_AFTER_MS: String(Math.floor(S.orderMaxAgeMs / 2)),
        WEBHOOK_RETRY_SCHEDULE_MS: '0,1000,2000,5000,10000,20000',
        WEBHOOK_SWEEP_MS: '2000',
        NOTIFICATION_ALLOW_LOOPBACK_WEBHOOKS: 'true',
        MAX_MESSAGES: '50000',
        QUEUE_TYPE: S.queueType,
      },
      serviceEnv: poolsFor(S.replicas, { notification: { SMTP_PORT: String(proxyPort) } }),
      readyTimeoutMs: 120000,
      onLine: (n, line) => streams.get(n)?.write(`${line}\n`),
    });
    const system = sys;
    system.onUnexpectedExit = (n, code, signal) => {
      unexpectedExits.push(`${n} (${signal ?? code})`);
      log(`${n} exited on its own (${signal ?? code}); starting it again`);
      void system.launch(n);
    };
    await system.init();
    for (const n of SERVICE_NAMES) await system.launch(n);
    await allReady(system);
    // CHAOS_REPLICAS: more instances of each service share the broker and database; the faults kill the first instance of each
    for (let r = 1; r < S.replicas; r++) {
      for (const n of ['order-receiving', 'order-processing', 'inventory', 'notification'] as const) await system.launchReplica(n);
    }
    const initialStock = await seed(system, hookUrl);

    const poisonBody = `chaos poison ${system.prefix}: not JSON`;
    const bus = await TestBus.connect(system.prefix);
    await bus.publishRaw('inventory.reserve.v1', Buffer.from(poisonBody), `poison-${system.prefix}`);
    await bus.cleanup();
    log(`system ready (prefix ${system.prefix}); poisoned inventory.commands with one non-JSON message`);

    const random = seededRandom(S.seed);
    let turn = 0;
    const shop = new Storefront({ baseUrl: () => { const urls = system.instanceUrls('order-receiving'); return urls[turn++ % urls.length]; }, tenants: TENANTS, skus: PRODUCTS.map((p) => p[0]), coupon: COUPON, cancelShare: S.cancelShare, random });
    let loadOn = true;
    const load = (async () => {
      for (let n = 0; n < S.orders && loadOn; n++) {
        shop.place(n);
        await sleep(S.orderEveryMs); // pacing: the storefront's order rate
      }
    })();
    const faults: FaultRecord[] = [];
    const trafficFlows = async () => {
      const before = shop.accepted.length;
      const deadline = Date.now() + 60000;
      while (shop.accepted.length < before + 5 && shop.orders.length < S.orders && Date.now() < deadline) await sleep(200);
    };
    await trafficFlows();
    await runFaults({ sys: system, infra, mail, settings: S, log, trafficFlows }, faults);
    loadOn = false;
    await load;
    log(`faults over; ${shop.orders.length} orders placed, waiting for the storefront's retries`);
    await shop.drain(120000);

    const views = new Map<string, OrderView>();
    const lastAccepted = Math.max(...shop.accepted.map((o) => o.acceptedAt ?? 0));
    await waitFinal(system, shop.orders, views, Math.max(lastAccepted + S.orderMaxAgeMs + 30000, Date.now() + 30000));

    // let the last emails and webhooks of final orders arrive (bounded)
    const settleBy = Date.now() + 60000;
    for (;;) {
      await mail.collect();
      const mailIds = new Set(mail.all.map((m) => m.messageId));
      const hookFinal = new Set(hooks.calls.map((c) => `${c.orderId}.${c.status}`));
      const waiting = shop.accepted.filter((o) => {
        const st = views.get(o.id!)?.status ?? '';
        return isFinalStatus(st) && (!mailIds.has(`${o.id}.${st}@orders.local`) || !hookFinal.has(`${o.id}.${st}`));
      });
      // captures and voids run after the order ends; one a killed process held waits for its lease (30 s) to pass
      const unsettled = gatewayLedger(shop.accepted, views, await authorizations(system).catch(() => [])).violations.length;
      if ((!waiting.length && !unsettled) || Date.now() > settleBy) break;
      log(`${waiting.length} final order(s) still without their email or final webhook, ${unsettled} payment(s) not settled yet`);
      await sleep(2000); // between polls of a bounded condition loop (last emails and webhooks)
    }

    const result = await audit({
      sys: system, orders: shop.orders, views, initialStock, mails: mail.all, webhooks: hooks.calls, rabbitUrl: TEST_RABBITMQ_URL, poisonBody,
      reservations: () => reservationDiagnostics(system.databaseUrl, views),
    });
    for (const s of streams.values()) await new Promise<void>((r) => s.write('', () => r()));
    result.ledgers.push(attemptsUsedByOutages(logDir));
    const unfinished = result.ledgers.find((l) => l.name === 'every order final');
    if (unfinished) await annotateWithProcessing(system.databaseUrl, unfinished).catch((e: Error) => log(`processing diagnostics: ${e.message}`));
    const gateway = result.ledgers.find((l) => l.name === 'gateway');
    if (gateway) await annotateWithSettlements(system.databaseUrl, gateway).catch((e: Error) => log(`settlement diagnostics: ${e.message}`));
    const report = renderReport({ orders: shop.orders, views, faults, ledgers: result.ledgers, unexpectedExits, mails: mail.all.length, webhookCalls: hooks.calls.length, elapsedMs: Date.now() - started });
    process.stdout.write(`${report}\n`);
    const violations = result.ledgers.reduce((n, l) => n + l.violations.length, 0);
    const failedFaults = faults.filter((f) => f.error).length;
    if (violations || failedFaults) {
      writeFileSync(join(logDir, 'violations.txt'), explain(result.ledgers, logDir));
      log(`${violations} violation(s), ${failedFaults} fault(s) that went wrong; details and the services' log lines per order: ${join(logDir, 'violations.txt')}`);
      return 1;
    }
    log('every ledger adds up');
    if (ownLogDir) rmSync(logDir, { recursive: true, force: true });
    return 0;
  } finally {
    await cleanup();
  }
}

/** Every violation, each with the services' log lines that mention its order. */
function explain(ledgers: Ledger[], logDir: string): string {
  const logs = SERVICE_NAMES.map((n) => {
    try {
      return { n, lines: readFileSync(join(logDir, `${n}.log`), 'utf8').split('\n') };
    } catch {
      return { n, lines: [] };
    }
  });
  const out: string[] = [];
  for (const l of ledgers) {
    for (const v of l.violations) {
      out.push(`[${l.name}] ${v.orderId ?? ''} ${v.text}`);
      if (!v.orderId) continue;
      for (const { n, lines } of logs) for (const line of lines.filter((x) => x.includes(v.orderId!)).slice(-12)) out.push(`    ${n}: ${line.slice(0, 400)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`chaos run failed: ${e.stack ?? e.message}\n`);
    process.exit(2);
  },
);

/**
 * The connection budget an operator sets for more than one instance of each
 * service on one PostgreSQL (max_connections 100, a few reserved): the
 * default pools (24 + 32 + 20 + 10 per set of instances, plus about ten LISTEN
 * connections) fit once, not twice. Pools shrink with the instance count,
 * keeping each service's share.
 */
function poolsFor(replicas: number, env: Partial<Record<ServiceName, Record<string, string>>>): Partial<Record<ServiceName, Record<string, string>>> {
  if (replicas === 1) return env;
  const share = { 'order-receiving': 18, 'order-processing': 24, inventory: 16, notification: 8 } as const; // per service, over all instances
  const out = { ...env };
  for (const [n, total] of Object.entries(share) as Array<[keyof typeof share, number]>) {
    out[n] = { ...(out[n] ?? {}), DB_POOL_SIZE: String(Math.max(4, Math.floor(total / replicas))) };
  }
  return out;
}
