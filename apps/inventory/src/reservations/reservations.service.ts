import { Injectable, Logger } from '@nestjs/common';
import { Envelope } from '@orders/contracts';
import { Tx, UnitOfWork } from '@orders/messaging';
import { Counter } from 'prom-client';
import { InventoryEnv } from '../config';
import { ReservationExpiry } from './reservation-expiry';
import { decideReservation, sumBySku } from './reservation-rules';
import {
  commitLocked, commitLocksStatement, insertRejected, lockedReservation, lockReservationStatement, moveStock, ReservationRow, reserveLocked, reserveLocksStatement, reserveStock, sellAvailable, setStatus,
} from './stock.sql';

const unfilled = new Counter({
  name: 'inventory_commits_unfilled_total',
  help: 'Confirmed orders whose stock could not be taken: their hold had expired and the units were no longer there (reservation status unfilled)',
});

/**
 * Reserve, commit and release, each exactly once per message (inbox) and
 * idempotent per order: a repeated command re-publishes the outcome the
 * order already has instead of moving stock again.
 */
@Injectable()
export class ReservationsService {
  private readonly logger = new Logger('Reservations');

  constructor(private readonly uow: UnitOfWork, private readonly cfg: InventoryEnv, private readonly expiry: ReservationExpiry) {}

  async reserve(env: Envelope<'inventory.reserve.v1'>): Promise<void> {
    const { orderId, tenantId, items } = env.payload;
    const outcome = await this.uow.handleOnce(env, async (tx, locks) => {
      const { existing, products } = reserveLocked(locks);
      if (existing) return republishReservation(tx, orderId, existing);

      const d = decideReservation(items, products);
      if (!d.ok) {
        insertRejected(tx, { orderId, tenantId, reason: d.reason, skus: d.skus });
        tx.publish('inventory.reservation-rejected.v1', { orderId, tenantId, reason: d.reason, skus: d.skus });
        return 'rejected';
      }
      const expiresAt = new Date(Date.now() + this.cfg.RESERVATION_TTL_SECONDS * 1000);
      reserveStock(tx, d.want, { orderId, tenantId, currency: d.currency, lines: d.lines, expiresAt });
      tx.publish('inventory.reserved.v1', { orderId, tenantId, lines: d.lines, currency: d.currency, expiresAt: expiresAt.toISOString() });
      return 'reserved';
    }, reserveLocksStatement(orderId, sumBySku(items).skus));
    if (outcome === 'reserved') this.expiry.wakeIn(this.cfg.RESERVATION_TTL_SECONDS * 1000);
  }

  /**
   * The order was confirmed: its held units leave the warehouse. Nothing is
   * answered (the order is confirmed already; order-processing confirms only
   * while the hold has time left). A hold that expired all the same is
   * filled from the units available; if they are not there the reservation
   * is marked unfilled, logged and counted for an operator, and stock never
   * goes below zero.
   */
  async commit(env: Envelope<'inventory.commit.v1'>): Promise<void> {
    const { orderId, skus } = env.payload;
    await this.uow.handleOnce(env, async (tx, locks) => {
      const { reservation: r, productsLocked } = commitLocked(locks, skus);
      if (r?.status === 'committed') return;
      if (r?.status === 'reserved' && !r.overdue) return moveStock(tx, sumBySku(r.lines), 'sell', { locked: productsLocked, status: { orderId, to: 'committed' } });
      if (r?.status === 'reserved') await moveStock(tx, sumBySku(r.lines), 'release', { locked: productsLocked, status: { orderId, to: 'expired' } }); // as the sweep would
      if (r && (await sellAvailable(tx, sumBySku(r.lines), orderId))) {
        this.logger.warn(`order ${orderId}: confirmed after its hold ${r.status === 'reserved' ? 'expired' : `was ${r.status}`}; filled from available stock`);
        return;
      }
      if (r) setStatus(tx, orderId, 'unfilled');
      tx.afterCommit(() => unfilled.inc());
      this.logger.error(`order ${orderId} is confirmed but its stock could not be taken (${r ? `reservation ${r.status}, units gone` : 'no reservation'}): an operator must fill it`);
    }, commitLocksStatement(orderId, skus));
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
        await moveStock(tx, sumBySku(r.lines), 'restock', { status: { orderId, to: 'returned' } });
        return;
      }
      if (r?.status !== 'reserved') return;
      await moveStock(tx, sumBySku(r.lines), 'release', { status: { orderId, to: r.overdue ? 'expired' : 'released' } });
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
