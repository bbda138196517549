import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { OrderProcessingEnv } from '../config';

/** Namespace of the per-tenant advisory locks (first key of the two-key form). */
const LOCK_CLASS = 73003;

/**
 * Fairness across tenants: at most TENANT_MAX_IN_FLIGHT orders of one tenant
 * are PROCESSING at a time; the rest wait as PENDING and start, oldest first,
 * as that tenant's earlier orders finish. A tenant flooding thousands of
 * orders so holds a bounded share of the pipeline, and another tenant's
 * order starts at once. Decisions for one tenant are serialized by a
 * transaction-scoped advisory lock.
 */
@Injectable()
export class TenantAdmission {
  constructor(private readonly cfg: OrderProcessingEnv) {}

  /** Locks the tenant's admission for the rest of the transaction and says whether another order may start. */
  async hasRoom(m: EntityManager, tenantId: string): Promise<boolean> {
    await m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, tenantId]);
    const rows: Array<{ n: number }> = await m.query(`SELECT count(*)::int AS n FROM orders WHERE tenant_id = $1 AND status = 'PROCESSING'`, [tenantId]);
    return rows[0].n < this.cfg.TENANT_MAX_IN_FLIGHT;
  }

  /** The tenant's oldest waiting order, if any (call after hasRoom in the same transaction). */
  async nextWaiting(m: EntityManager, tenantId: string): Promise<string | undefined> {
    const rows: Array<{ id: string }> = await m.query(
      `SELECT id FROM orders WHERE tenant_id = $1 AND status = 'PENDING' ORDER BY placed_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [tenantId],
    );
    return rows[0]?.id;
  }
}
