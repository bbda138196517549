import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { OrderProcessingEnv } from '../config';

/**
 * Fairness across tenants: about TENANT_MAX_IN_FLIGHT orders of one tenant
 * are PROCESSING at a time; the rest wait as PENDING and start, oldest first,
 * as that tenant's earlier orders finish (each finish publishes
 * order.admit-waiting.v1 to order-processing.placed, where a cancel for a
 * waiting order is handled before it). A tenant flooding thousands of
 * orders so holds a bounded share of the pipeline, and another tenant's
 * order starts at once.
 *
 * The cap is soft on purpose: the check takes no lock (a per-tenant lock
 * would make one tenant's orders pass through the service one at a time), so
 * concurrent admissions may overshoot it by at most PLACED_CONCURRENCY. The
 * one race this leaves — an order decides to wait just as the last of its
 * tenant's orders in flight finishes — is closed by `stranded()`, which the
 * reconciler checks every ADMISSION_SWEEP_MS.
 */
@Injectable()
export class TenantAdmission {
  constructor(private readonly cfg: OrderProcessingEnv) {}

  /** How many more of the tenant's orders may start now. */
  async room(m: EntityManager, tenantId: string): Promise<number> {
    const rows: Array<{ n: number }> = await m.query(`SELECT count(*)::int AS n FROM orders WHERE tenant_id = $1 AND status = 'PROCESSING'`, [tenantId]);
    return this.roomBeside(rows[0].n);
  }

  /** How many more of a tenant's orders may start beside `inFlight` of them PROCESSING. */
  roomBeside(inFlight: number): number {
    return Math.max(0, this.cfg.TENANT_MAX_IN_FLIGHT - inFlight);
  }

  /** Tenants with orders waiting although they have room (the race above). */
  async stranded(m: EntityManager): Promise<string[]> {
    const rows: Array<{ tenant_id: string }> = await m.query(
      `SELECT w.tenant_id FROM (SELECT DISTINCT tenant_id FROM orders WHERE status = 'PENDING') w
       WHERE (SELECT count(*) FROM orders p WHERE p.tenant_id = w.tenant_id AND p.status = 'PROCESSING') < $1`,
      [this.cfg.TENANT_MAX_IN_FLIGHT],
    );
    return rows.map((r) => r.tenant_id);
  }
}
