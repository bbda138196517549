import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MessageName, QueueName } from '@orders/contracts';
import { Messaging } from '@orders/messaging';
import { loadConfig } from '@orders/platform';
import { createTestDatabase, deleteBrokerTopology, eventually, handledCount, TestBus, TestDatabase, uniqueName } from '@orders/testing';
import { DataSource } from 'typeorm';
import { bootstrap } from '../src/bootstrap';
import { InventoryEnv } from '../src/config';

export const ADMIN = { authorization: 'Bearer test-admin-token' };

/** Integration-test harness: the real app on its own database and MQ_PREFIX, plus a bus that watches replies. */
export class TestApp {
  private constructor(
    readonly cfg: InventoryEnv,
    readonly app: NestFastifyApplication,
    readonly db: TestDatabase,
    readonly bus: TestBus,
    readonly base: string,
  ) {}

  static async start(env: Record<string, string> = {}, watch: MessageName[] = []): Promise<TestApp> {
    const db = await createTestDatabase('inv');
    const cfg = loadConfig(InventoryEnv, {
      DATABASE_URL: db.url, MQ_PREFIX: uniqueName('t').toLowerCase(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn',
      RETRY_DELAYS_MS: '100,200', ADMIN_TOKEN: 'test-admin-token', ...env,
    });
    const bus = await TestBus.connect(cfg.MQ_PREFIX, watch);
    const app = await bootstrap(cfg);
    return new TestApp(cfg, app, db, bus, await app.getUrl());
  }

  async stop(): Promise<void> {
    await this.app.close();
    await this.bus.cleanup();
    await this.db.drop();
    await deleteBrokerTopology(this.cfg.MQ_PREFIX, this.cfg.retryDelaysMs);
  }

  /** PUT /products/{sku} as the admin. */
  async putProduct(sku: string, body: unknown, headers: Record<string, string> = ADMIN): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.base}/products/${sku}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async product(sku: string): Promise<{ stock: number; reserved: number; available: number }> {
    const res = await fetch(`${this.base}/products/${sku}`, { headers: ADMIN });
    if (res.status !== 200) throw new Error(`GET /products/${sku}: ${res.status}`);
    return (await res.json()) as { stock: number; reserved: number; available: number };
  }

  /**
   * Waits until `count` deliveries of `message` on `queue` are acknowledged,
   * then until everything they published has reached the bus: after it, a
   * reply that is not on the bus was never sent.
   */
  async untilAcked(queue: QueueName, message: MessageName, count: number): Promise<void> {
    await eventually(async () => (await handledCount(queue, message)) >= count, 10000, 10, `${count} × ${message} acknowledged on ${queue}`);
    await this.app.get(Messaging).flush();
    await this.bus.sync();
  }

  /** The reservation's status as stored (tests look at it only where no API shows it). */
  async reservationStatus(orderId: string): Promise<string | undefined> {
    const rows: Array<{ status: string }> = await this.app.get(DataSource).query('SELECT status FROM reservations WHERE order_id = $1', [orderId]);
    return rows[0]?.status;
  }
}
