import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { OrderStatus } from '@orders/contracts';
import { Gauge, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';
import { OrderProcessingEnv } from '../config';

/** From acceptance (placedAt, stamped by order-receiving) to the final state, by final status. */
export const acceptToFinalSeconds = new Histogram({
  name: 'orders_accept_to_final_seconds',
  help: 'From acceptance of an order to its final state, by final status',
  labelNames: ['status'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
});

export function observeFinal(status: OrderStatus, placedAt: Date): void {
  acceptToFinalSeconds.observe({ status }, Math.max(0, Date.now() - placedAt.getTime()) / 1000);
}

/** The source the scrape-time gauges read (one app per process; the last started wins). */
let source: OrderMetrics | undefined;

new Gauge({
  name: 'orders_stuck',
  help: 'Orders not final STUCK_AFTER_MS after acceptance (NaN while the database cannot be read)',
  async collect() {
    const n = await source?.stuck();
    this.set(n ?? NaN);
  },
});

const seenTenants = new Set<string>();
new Gauge({
  name: 'orders_tenant_waiting',
  help: "A tenant's accepted orders not yet started (PENDING)",
  labelNames: ['tenant'] as const,
  async collect() {
    const rows = await source?.waiting();
    this.reset();
    if (!rows) return;
    for (const r of rows) seenTenants.add(r.tenant);
    const counts = new Map(rows.map((r) => [r.tenant, r.n]));
    // A tenant seen before whose queue emptied reads 0, not a vanished series.
    for (const tenant of seenTenants) this.set({ tenant }, counts.get(tenant) ?? 0);
  },
});

/**
 * Order-processing's scrape-time gauges: one cheap query each (both on the
 * partial index of unfinished orders), bounded in time, so a slow or absent
 * database never fails /metrics.
 */
@Injectable()
export class OrderMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('OrderMetrics');

  constructor(private readonly ds: DataSource, @Inject(OrderProcessingEnv) private readonly cfg: OrderProcessingEnv) {}

  onModuleInit(): void {
    source = this;
  }

  onModuleDestroy(): void {
    if (source === this) source = undefined;
  }

  async stuck(): Promise<number | undefined> {
    const rows = await this.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders WHERE status IN ('PENDING', 'PROCESSING') AND placed_at < now() - make_interval(secs => $1)`,
      [this.cfg.STUCK_AFTER_MS / 1000],
    );
    return rows?.[0].n;
  }

  async waiting(): Promise<Array<{ tenant: string; n: number }> | undefined> {
    return this.query(`SELECT tenant_id AS tenant, count(*)::int AS n FROM orders WHERE status = 'PENDING' GROUP BY tenant_id`);
  }

  private async query<T>(sql: string, params: unknown[] = []): Promise<T[] | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.ds.query(sql, params) as Promise<T[]>,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('query took over 2000 ms')), 2000);
        }),
      ]);
    } catch (e) {
      this.logger.debug(`order metrics unavailable: ${(e as Error).message}`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
