import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OrderStatus, PayloadOf } from '@orders/contracts';
import { Messaging } from '@orders/messaging';
import { loadConfig } from '@orders/platform';
import { createTestDatabase, deleteBrokerTopology, TestBus, TestDatabase, uniqueName } from '@orders/testing';
import { bootstrap } from '../src/bootstrap';
import { OrderReceivingEnv } from '../src/config';

/** Integration-test harness: the app in-process on its own database and MQ_PREFIX, plus a TestBus. */
export interface TestApp {
  app: NestFastifyApplication;
  cfg: OrderReceivingEnv;
  db: TestDatabase;
  bus: TestBus;
  base: string;
  /** Waits until everything committed to the outbox is published and has reached the bus. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** `dbUrl` rewrites the database URL the app uses (e.g. through a TcpProxy). */
export async function startTestApp(label: string, env: Record<string, string> = {}, dbUrl: (url: string) => string = (u) => u): Promise<TestApp> {
  const db = await createTestDatabase(label);
  const cfg = loadConfig(OrderReceivingEnv, {
    DATABASE_URL: dbUrl(db.url), MQ_PREFIX: uniqueName('t').toLowerCase(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', RETRY_DELAYS_MS: '100,200', CANCEL_DECISION_WAIT_MS: '1000', ...env,
  });
  const app = await bootstrap(cfg);
  const bus = await TestBus.connect(cfg.MQ_PREFIX, ['order.placed.v1', 'order.cancel-requested.v1']);
  const base = await app.getUrl();
  return {
    app, cfg, db, bus, base,
    async settled() {
      await app.get(Messaging).flush();
      await bus.sync();
    },
    async stop() {
      await app.close();
      await bus.cleanup();
      await db.drop();
      await deleteBrokerTopology(cfg.MQ_PREFIX, cfg.retryDelaysMs);
    },
  };
}

export const DEMO = { authorization: 'Bearer demo-key' };
export const ACME = { authorization: 'Bearer acme-key' };

export function orderBody(o: { sku?: string; quantity?: number; email?: string } = {}) {
  return {
    customer: { id: 'cust-1', email: o.email ?? 'ada@example.com', name: 'Ada Lovelace' },
    items: [{ sku: o.sku ?? 'SKU-1', quantity: o.quantity ?? 2 }],
    couponCode: 'SPRING10',
    shippingAddress: { line1: '1 Analytical Way', city: 'London', postalCode: 'N1 9GU', country: 'GB' },
    payment: { token: 'tok_ok' },
  };
}

let n = 0;
export const newKey = (): string => `key-${Date.now()}-${++n}-${Math.random().toString(36).slice(2)}`;

export interface Res<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function call<T = Record<string, unknown>>(base: string, method: string, path: string, o: { body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Res<T>> {
  const headers: Record<string, string> = { ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(o.headers ?? {}) };
  const res = await fetch(`${base}${path}`, { method, headers, body: o.raw ?? (o.body !== undefined ? JSON.stringify(o.body) : undefined) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

export function placeOrder(base: string, body: unknown = orderBody(), headers: Record<string, string> = {}, key: string = newKey()) {
  return call<{ id: string; status: string; links: { self: string; events: string } } & Record<string, unknown>>(base, 'POST', '/orders', {
    body, headers: { ...DEMO, 'idempotency-key': key, ...headers },
  });
}

/** A status event as order-processing would publish it. */
export function statusEvent(
  orderId: string, sequence: number, status: OrderStatus, extra: Partial<PayloadOf<'order.status-changed.v1'>> = {}, tenantId = 'demo',
): PayloadOf<'order.status-changed.v1'> {
  return {
    orderId, tenantId, sequence, status, at: new Date(Date.UTC(2026, 0, 1, 0, 0, sequence)).toISOString(),
    customer: { id: 'cust-1', email: 'ada@example.com', name: 'Ada Lovelace' },
    items: [{ sku: 'SKU-1', quantity: 2 }],
    ...extra,
  };
}

export const PRICED = {
  items: [{ sku: 'SKU-1', quantity: 2, name: 'Widget', unitPriceCents: 1250 }],
  totals: { subtotalCents: 2500, discountCents: 250, totalCents: 2250, currency: 'EUR' },
};
