import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, Server } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { CancelVerdict, Envelope, MessageName, parseEnvelope, PayloadOf, QueueName } from '@orders/contracts';
import { Messaging } from '@orders/messaging';
import { loadConfig } from '@orders/platform';
import { createTestDatabase, deleteBrokerTopology, eventually, TEST_RABBITMQ_URL, TestBus, TestDatabase, uniqueName, unpackedBodies } from '@orders/testing';
import { DataSource } from 'typeorm';
import { bootstrap } from '../src/bootstrap';
import { OrderProcessingEnv } from '../src/config';

/** Integration-test rig: the app in-process, the real gateway simulator as a child process, and a scripted fake inventory. */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * The real simulator as a child process, behind a small counting HTTP proxy:
 * `url` is the proxy, so `requests` holds the payment calls (POST) it saw (method,
 * path, time, answer status), e.g. the probes an open breaker lets through.
 */
export class GatewaySim {
  private constructor(
    private readonly child: ChildProcess,
    private readonly proxy: Server,
    readonly url: string,
    private readonly simUrl: string,
    readonly requests: Array<{ at: number; method: string; path: string; status: number }>,
    /** Every request as it arrives (before its answer): a call in flight is seen here. */
    readonly arrived: Array<{ at: number; method: string; path: string }>,
  ) {}

  static async start(): Promise<GatewaySim> {
    const main = join(__dirname, '..', '..', '..', 'payment-gateway-sim', 'dist', 'main.js');
    if (!existsSync(main)) throw new Error(`build the simulator first (npx tsc -b apps/payment-gateway-sim): ${main} is missing`);
    const port = await freePort();
    const child = spawn(process.execPath, [main], { env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SIM_STATE_FILE: 'none' }, stdio: ['ignore', 'ignore', 'inherit'] });
    const requests: GatewaySim['requests'] = [];
    const arrived: GatewaySim['arrived'] = [];
    const proxy = createHttpServer((req, res) => {
      const at = Date.now();
      arrived.push({ at, method: req.method ?? '', path: req.url ?? '' });
      const up = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        if (req.method === 'POST') requests.push({ at, method: req.method!, path: req.url!, status: answer.statusCode ?? 0 });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const sim = new GatewaySim(child, proxy, `http://127.0.0.1:${(proxy.address() as { port: number }).port}`, `http://127.0.0.1:${port}`, requests, arrived);
    await eventually(async () => (await fetch(`${sim.simUrl}/control`)).ok, 20000, 100, 'payment gateway simulator');
    return sim;
  }

  async control(c: { latencyMs?: number; errorRate?: number; outage?: boolean }): Promise<void> {
    const res = await fetch(`${this.url}/control`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(c) });
    if (!res.ok) throw new Error(`PUT /control: ${res.status} ${await res.text()}`);
  }

  async authorizations(orderId: string): Promise<Array<{ id: string; status: string; amountCents: number }>> {
    const res = await fetch(`${this.url}/authorizations?orderId=${orderId}`);
    return ((await res.json()) as { items: Array<{ id: string; status: string; amountCents: number }> }).items;
  }

  async stop(): Promise<void> {
    this.proxy.closeAllConnections();
    await new Promise((r) => this.proxy.close(r));
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}

export const CATALOG: Record<string, { name: string; priceCents: number }> = {
  'SKU-A': { name: 'Alpha', priceCents: 1250 },
  'SKU-B': { name: 'Beta', priceCents: 990 },
};

type ReserveScript = 'ok' | 'hold' | { reject: PayloadOf<'inventory.reservation-rejected.v1'>['reason'] } | { expiresInMs: number };

/** Plays inventory: answers reserve commands as each order's script says (default: reserved, held for 15 minutes); commits answer nothing. */
export class FakeInventory {
  readonly reserve = new Map<string, ReserveScript>();
  private constructor(private readonly conn: amqp.ChannelModel, private readonly bus: TestBus) {}

  static async start(bus: TestBus): Promise<FakeInventory> {
    const conn = await amqp.connect(TEST_RABBITMQ_URL);
    const ch = await conn.createChannel();
    const inv = new FakeInventory(conn, bus);
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, bus.exchange, 'inventory.reserve.v1.#');
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      void Promise.all(unpackedBodies(msg).map((b) => inv.answer(parseEnvelope(b)))).finally(() => ch.ack(msg));
    });
    return inv;
  }

  async reserved(orderId: string, tenantId: string, items: Array<{ sku: string; quantity: number }>, expiresInMs = 900_000): Promise<Envelope<'inventory.reserved.v1'>> {
    const lines = items.map((i) => ({ ...i, name: CATALOG[i.sku].name, unitPriceCents: CATALOG[i.sku].priceCents }));
    return this.bus.publish('inventory.reserved.v1', { orderId, tenantId, lines, currency: 'EUR', expiresAt: new Date(Date.now() + expiresInMs).toISOString() });
  }

  private async answer(env: Envelope): Promise<void> {
    if (env.name !== 'inventory.reserve.v1') return;
    const p = env.payload as PayloadOf<'inventory.reserve.v1'>;
    const script = this.reserve.get(p.orderId) ?? 'ok';
    if (script === 'ok') await this.reserved(p.orderId, p.tenantId, p.items);
    else if (script === 'hold') return;
    else if ('expiresInMs' in script) await this.reserved(p.orderId, p.tenantId, p.items, script.expiresInMs);
    else await this.bus.publish('inventory.reservation-rejected.v1', { orderId: p.orderId, tenantId: p.tenantId, reason: script.reject, skus: [p.items[0].sku] });
  }

  async stop(): Promise<void> {
    await this.conn.close().catch(() => undefined);
  }
}

const WATCH: MessageName[] = [
  'order.status-changed.v1', 'inventory.reserved.v1', 'inventory.reservation-rejected.v1', 'inventory.reserve.v1', 'inventory.release.v1', 'inventory.commit.v1', 'message.dead-lettered.v1',
];

export interface Rig {
  cfg: OrderProcessingEnv;
  app: NestFastifyApplication;
  base: string;
  bus: TestBus;
  sim: GatewaySim;
  inventory: FakeInventory;
  stop(): Promise<void>;
}

export async function startRig(label: string, env: Record<string, string> = {}): Promise<Rig> {
  const db: TestDatabase = await createTestDatabase(label);
  const sim = await GatewaySim.start();
  const cfg = loadConfig(OrderProcessingEnv, {
    DATABASE_URL: db.url, MQ_PREFIX: uniqueName('t').toLowerCase(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    RETRY_DELAYS_MS: '100,200', PAYMENT_GATEWAY_URL: sim.url, STATUS_COALESCE_MS: '0', ...env,
  });
  const bus = await TestBus.connect(cfg.MQ_PREFIX, WATCH);
  const inventory = await FakeInventory.start(bus);
  const app = await bootstrap(cfg);
  const base = await app.getUrl();
  return {
    cfg, app, base, bus, sim, inventory,
    async stop() {
      await app.close();
      await inventory.stop();
      await bus.cleanup();
      await sim.stop();
      await db.drop();
      await deleteBrokerTopology(cfg.MQ_PREFIX, [...cfg.retryDelaysMs, ...cfg.paymentWaitDelaysMs]);
    },
  };
}

export interface PlaceOptions {
  items?: Array<{ sku: string; quantity: number }>;
  couponCode?: string;
  token?: string;
  tenantId?: string;
  orderId?: string;
  lane?: 'quiet' | 'bulk';
}

/** Publishes order.placed.v1 as order-receiving would; returns the order id and the envelope. */
export async function placeOrder(bus: TestBus, o: PlaceOptions = {}): Promise<{ orderId: string; env: Envelope<'order.placed.v1'> }> {
  const orderId = o.orderId ?? randomUUID();
  const env = await bus.publish('order.placed.v1', {
    orderId,
    tenantId: o.tenantId ?? 'demo',
    customer: { id: 'c-1', email: 'buyer@example.com', name: 'Buyer' },
    items: o.items ?? [{ sku: 'SKU-A', quantity: 2 }],
    ...(o.couponCode ? { couponCode: o.couponCode } : {}),
    shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
    payment: { token: o.token ?? 'tok_ok' },
    placedAt: new Date().toISOString(),
    ...(o.lane ? { lane: o.lane } : {}),
  });
  return { orderId, env };
}

/**
 * Waits until order-processing has handled this message on `queue` (its
 * inbox row committed) and everything that handling published has reached
 * the test bus, so a test can assert what did NOT happen without sleeping.
 */
export async function handled(rig: Rig, env: Envelope, queue: QueueName): Promise<void> {
  const ds = rig.app.get(DataSource);
  await eventually(async () => (await ds.query('SELECT 1 FROM inbox WHERE message_id = $1 AND queue = $2', [env.id, queue])).length > 0, 10000, 20, `${env.name} handled on ${queue}`);
  await rig.app.get(Messaging).flush();
  await rig.bus.sync();
}

/** Asks to cancel as order-receiving does (a request) and returns order-processing's decision. */
export async function cancel(rig: Rig, orderId: string, tenantId = 'demo'): Promise<CancelVerdict> {
  const verdict = await rig.bus.request('order.cancel-requested.v1', { orderId, tenantId, requestedAt: new Date().toISOString() });
  if (!verdict) throw new Error(`no verdict for the cancel of ${orderId}`);
  return verdict as CancelVerdict;
}

/** Waits until the order's one authorization at the gateway has this status (captured, voided, authorized). */
export async function paymentIs(rig: Rig, orderId: string, status: string): Promise<Array<{ id: string; status: string; amountCents: number }>> {
  return eventually(async () => {
    const a = await rig.sim.authorizations(orderId);
    return a.length === 1 && a[0].status === status ? a : undefined;
  }, 15000, 50, `authorization of ${orderId} ${status}`);
}

/** Waits for the order to reach `status` and returns that status event. */
export function statusOf(bus: TestBus, orderId: string, status: string, timeoutMs = 10000): Promise<Envelope<'order.status-changed.v1'>> {
  return bus.waitFor('order.status-changed.v1', (p) => p.orderId === orderId && p.status === status, timeoutMs);
}

export const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };

export async function putPromotion(base: string, code: string, body: object): Promise<Response> {
  return fetch(`${base}/promotions/${code}`, { method: 'PUT', headers: ADMIN, body: JSON.stringify(body) });
}
