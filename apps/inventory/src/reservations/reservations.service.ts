import { Injectable } from '@nestjs/common';
import { Envelope, OrderRefV1 } from '@orders/contracts';
import { Tx, UnitOfWork } from '@orders/messaging';
import { InventoryEnv } from '../config';
import { ReservationExpiry } from './reservation-expiry';
import { decideReservation, sumBySku } from './reservation-rules';
import {
  insertRejected, lockedReservation, lockReservationStatement, moveStock, ReservationRow, reserveLocked, reserveLocksStatement, reserveStock,
} from './stock.sql';

/**
 * Reserve, commit and release, each exactly once per message (inbox) and
 * idempotent per order: a repeated command re-publishes the outcome the
 * order already has instead of moving stock again.
 */
@Injectable()
export class ReservationsService {
  constructor(private readonly uow: UnitOfWork, private readonly cfg: InventoryEnv, private readonly expiry: ReservationExpiry) {}

  async reserve(env: Envelope<'inventory.reserve.v1'>): Promise<void> {
    const { orderId, tenantId, items } = env.payload;
    const outcome = await this.uow.handleOnce(env, async (tx, locks) => {
      const { existing, products } = reserveLocked(locks);
      if (existing) return republishReservation(tx, orderId, existing);

      const d = decideReservation(items, products);
      if (!d.ok) {
        await insertRejected(tx.manager, { orderId, tenantId, reason: d.reason, skus: d.skus });
        tx.publish('inventory.reservation-rejected.v1', { orderId, tenantId, reason: d.reason, skus: d.skus });
        return 'rejected';
      }
      const expiresAt = await reserveStock(tx.manager, d.want, { orderId, tenantId, currency: d.currency, lines: d.lines, ttlSeconds: this.cfg.RESERVATION_TTL_SECONDS });
      tx.publish('inventory.reserved.v1', { orderId, tenantId, lines: d.lines, currency: d.currency, expiresAt: expiresAt.toISOString() });
      return 'reserved';
    }, reserveLocksStatement(orderId, sumBySku(items).skus));
    if (outcome === 'reserved') this.expiry.wakeIn(this.cfg.RESERVATION_TTL_SECONDS * 1000);
  }

  /** Sells the reserved units; an expired or missing reservation is reported, never sold. */
  async commit(env: Envelope<'inventory.commit.v1'>): Promise<void> {
    const ref: OrderRefV1 = { orderId: env.payload.orderId, tenantId: env.payload.tenantId };
    await this.uow.handleOnce(env, async (tx, locks) => {
      const r = lockedReservation(locks);
      if (r?.status === 'committed') return tx.publish('inventory.committed.v1', ref);
      if (r?.status === 'expired') return tx.publish('inventory.commit-failed.v1', { ...ref, reason: 'reservation_expired' });
      if (r?.status !== 'reserved') return tx.publish('inventory.commit-failed.v1', { ...ref, reason: 'reservation_missing' });
      if (r.overdue) {
        // Expired before the sweep got to it: expire it now, exactly as the sweep would.
        await moveStock(tx.manager, sumBySku(r.lines), 'release', { status: { orderId: ref.orderId, to: 'expired' } });
        return tx.publish('inventory.commit-failed.v1', { ...ref, reason: 'reservation_expired' });
      }
      await moveStock(tx.manager, sumBySku(r.lines), 'sell', { status: { orderId: ref.orderId, to: 'committed' } });
      tx.publish('inventory.committed.v1', ref);
    }, lockReservationStatement(ref.orderId));
  }

  /**
   * Returns the order's units: reserved ones to availability, and sold ones
   * (a cancel or failure that lost the race with the commit) back to stock.
   * Anything else is left as it is.
   */
  async release(env: Envelope<'inventory.release.v1'>): Promise<void> {
    const { orderId } = env.payload;
    await this.uow.handleOnce(env, async (tx, locks) => {
      const r = lockedReservation(locks);
      if (r?.status === 'committed') {
        await moveStock(tx.manager, sumBySku(r.lines), 'restock', { status: { orderId, to: 'returned' } });
        return;
      }
      if (r?.status !== 'reserved') return;
      await moveStock(tx.manager, sumBySku(r.lines), 'release', { status: { orderId, to: r.overdue ? 'expired' : 'released' } });
    }, lockReservationStatement(orderId));
  }
}

/** A repeated reserve command gets the order's original outcome again. */
function republishReservation(tx: Tx, orderId: string, r: ReservationRow): 'republished' {
  if (r.status === 'rejected') {
    tx.publish('inventory.reservation-rejected.v1', { orderId, tenantId: r.tenantId, reason: r.rejectReason!, skus: r.rejectSkus ?? [] });
  } else {
    tx.publish('inventory.reserved.v1', { orderId, tenantId: r.tenantId, lines: r.lines, currency: r.currency!, expiresAt: r.expiresAt!.toISOString() });
  }
  return 'republished';
}
