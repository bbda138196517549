import { Injectable } from '@nestjs/common';
import type { Sql } from '@orders/persistence';
import { OrderProcessingEnv } from '../config';

/** A tenant's orders in flight, and whether another tenant has any (one query over the orders_in_flight index). */
export interface InFlight {
  mine: number;
  others: boolean;
}

/** The SQL that reads InFlight for tenant `$n` (as columns `in_flight`, `others_in_flight`). */
export const inFlightColumns = (n: number): string =>
  `(SELECT count(*)::int FROM orders WHERE tenant_id = $${n} AND status = 'PROCESSING') AS in_flight,
   EXISTS (SELECT 1 FROM orders WHERE tenant_id <> $${n} AND status = 'PROCESSING') AS others_in_flight`;

/**
 * Fairness across tenants: a tenant alone gets TENANT_MAX_IN_FLIGHT orders
 * PROCESSING at once; while another tenant is active (orders in flight, or
 * placed or ended here within TENANT_ACTIVE_WINDOW_MS) it gets
 * TENANT_SHARED_IN_FLIGHT. The rest wait as PENDING and start, oldest first,
 * as that tenant's earlier orders finish (the finishing step starts them
 * in its own transaction: OrderLifecycle.finish). A tenant flooding thousands of
 * orders so holds a bounded share of the pipeline, and another tenant's
 * order starts at once and shares each stage with few of the flood's.
 *
 * The cap is soft on purpose: the check takes no lock (a per-tenant lock
 * would make one tenant's orders pass through the service one at a time), so
 * concurrent admissions may overshoot it by at most PLACED_CONCURRENCY; the
 * activity window is this instance's view. The one race this leaves — an
 * order decides to wait just as the last of its tenant's orders in flight
 * finishes — is closed by `stranded()`, which the reconciler checks every
 * ADMISSION_SWEEP_MS.
 */
@Injectable()
export class TenantAdmission {
  /** When each tenant last placed or ended an order here (ms): its activity, for TENANT_ACTIVE_WINDOW_MS. */
  private readonly active = new Map<string, number>();

  /** The clock (a test sets its own). */
  now: () => number = Date.now;

  constructor(private readonly cfg: OrderProcessingEnv) {}

  /** One of the tenant's orders was placed or ended here. */
  noteActive(tenantId: string): void {
    this.active.delete(tenantId); // re-inserted last: the map stays in order of activity
    this.active.set(tenantId, this.now());
  }

  /** How many more of the tenant's orders may start now. */
  async room(db: Sql, tenantId: string): Promise<number> {
    const rows = await db.query<{ in_flight: number; others_in_flight: boolean }>(`SELECT ${inFlightColumns(1)}`, [tenantId]);
    return this.roomBeside(tenantId, { mine: rows[0].in_flight, others: rows[0].others_in_flight });
  }

  /** How many more of a tenant's orders may start beside those in flight. */
  roomBeside(tenantId: string, inFlight: InFlight): number {
    const shared = inFlight.others || this.othersActive(tenantId);
    const cap = shared ? Math.min(this.cfg.TENANT_SHARED_IN_FLIGHT, this.cfg.TENANT_MAX_IN_FLIGHT) : this.cfg.TENANT_MAX_IN_FLIGHT;
    return Math.max(0, cap - inFlight.mine);
  }

  /** Whether another tenant placed or ended an order here within TENANT_ACTIVE_WINDOW_MS. */
  othersActive(tenantId: string): boolean {
    const since = this.now() - this.cfg.TENANT_ACTIVE_WINDOW_MS;
    for (const [t, at] of this.active) {
      if (at >= since) {
        if (t !== tenantId) return true;
      } else {
        this.active.delete(t); // oldest first: the rest of the map is more recent
      }
    }
    return false;
  }

  /**
   * Tenants with orders waiting although they have room by the orders in
   * flight (the race above); admitting them checks the room again, activity
   * window included.
   */
  async stranded(db: Sql): Promise<string[]> {
    const rows = await db.query<{ tenant_id: string }>(
      `SELECT w.tenant_id FROM (SELECT DISTINCT tenant_id FROM orders WHERE status = 'PENDING') w
       WHERE (SELECT count(*) FROM orders p WHERE p.tenant_id = w.tenant_id AND p.status = 'PROCESSING')
         < CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.tenant_id <> w.tenant_id AND o.status = 'PROCESSING') THEN $2::int ELSE $1::int END`,
      [this.cfg.TENANT_MAX_IN_FLIGHT, Math.min(this.cfg.TENANT_SHARED_IN_FLIGHT, this.cfg.TENANT_MAX_IN_FLIGHT)],
    );
    return rows.map((r) => r.tenant_id);
  }
}
