// Helpers of the webhook integration tests: a real HTTP receiver and the app under test.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import type { PayloadOf } from '@orders/contracts';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@orders/platform';
import { createTestDatabase, deleteBrokerTopology, TestDatabase, uniqueName } from '@orders/testing';
import { bootstrap } from '../src/bootstrap';
import { NotificationEnv } from '../src/config';
import type { DeliveryView, WebhookView } from '../src/webhooks/webhook.dto';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** What a path answers to its n-th request (1-based): a status (and body), or 'stall' (never answers). */
export type Behaviour = (n: number) => { status: number; body?: string } | 'stall';

/** A local webhook receiver on 127.0.0.1: each path behaves as told and every request is kept. */
export class Receiver {
  readonly requests: Received[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      this.requests.push({ path, headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const n = this.requests.filter((r) => r.path === path).length;
      const behaviour: Behaviour = this.behaviours.get(path) ?? (() => ({ status: 204 }));
      const answer = behaviour(n);
      if (answer === 'stall') return;
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? '');
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(path: string, behaviour?: Behaviour): string {
    if (behaviour) this.behaviours.set(path, behaviour);
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  to(path: string): Received[] {
    return this.requests.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface TestApp {
  cfg: NotificationEnv;
  app: NestFastifyApplication;
  base: string;
  db: TestDatabase;
  close(): Promise<void>;
}

/** Tenants t1…t13 with keys `key-t1-secret`…; each test uses its own tenant so endpoints never mix. */
export const TENANT_KEYS = Array.from({ length: 13 }, (_, i) => `t${i + 1}:key-t${i + 1}-secret`).join(',');
export const auth = (tenant: string) => ({ authorization: `Bearer key-${tenant}-secret`, 'content-type': 'application/json' });

/** The notification app on its own database and queue prefix, loopback webhooks allowed, a compressed retry schedule, no practical rate limit. */
export async function startApp(env: Record<string, string> = {}): Promise<TestApp> {
  const db = await createTestDatabase('whk');
  const cfg = loadConfig(NotificationEnv, {
    DATABASE_URL: db.url, MQ_PREFIX: uniqueName('t').toLowerCase(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error',
    RETRY_DELAYS_MS: '100,200', API_KEYS: `${TENANT_KEYS},demo:demo-key`, NOTIFICATION_ALLOW_LOOPBACK_WEBHOOKS: 'true',
    WEBHOOK_RETRY_SCHEDULE_MS: '0,100,200', WEBHOOK_TIMEOUT_MS: '1500', SMTP_PORT: '1', SMTP_TIMEOUT_MS: '500',
    RATE_LIMIT_PER_SECOND: '10000', RATE_LIMIT_BURST: '10000', // out of the way of polling tests; webhooks-rate-limit sets its own
    ...env,
  });
  const app = await bootstrap(cfg);
  return {
    cfg, app, db, base: await app.getUrl(),
    async close() {
      await app.close();
      await db.drop();
      await deleteBrokerTopology(cfg.MQ_PREFIX, cfg.retryDelaysMs);
    },
  };
}

/** A status event of the tenant (CONFIRMED, with a customer and one line), to publish on the test bus. */
export const statusEvent = (tenantId: string, over: Partial<PayloadOf<'order.status-changed.v1'>> = {}): PayloadOf<'order.status-changed.v1'> => ({
  orderId: randomUUID(),
  tenantId,
  status: 'CONFIRMED',
  sequence: 4,
  at: new Date().toISOString(),
  customer: { id: 'c1', email: `${tenantId}@example.com`, name: 'Ada' },
  items: [{ sku: 'WIDGET-1', quantity: 2, name: 'Widget', unitPriceCents: 999 }],
  totals: { subtotalCents: 1998, discountCents: 0, totalCents: 1998, currency: 'EUR' },
  ...over,
});

/** POST /webhooks as the tenant; asserts the 201. */
export async function registerWebhook(t: TestApp, tenant: string, url: string, events?: string[]): Promise<WebhookView & { secret: string }> {
  const res = await fetch(`${t.base}/webhooks`, { method: 'POST', headers: auth(tenant), body: JSON.stringify({ url, ...(events ? { events } : {}) }) });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as WebhookView & { secret: string };
}

/** GET /webhooks/{id}/deliveries as the tenant; asserts the 200. */
export async function deliveriesOf(t: TestApp, tenant: string, id: string): Promise<DeliveryView[]> {
  const res = await fetch(`${t.base}/webhooks/${id}/deliveries?limit=200`, { headers: { authorization: auth(tenant).authorization } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: DeliveryView[] }).items;
}
