import { Injectable, Logger } from '@nestjs/common';
import type { OrderStatus } from '@orders/contracts';
import type { Tx } from '@orders/messaging';
import { SettlementJobs } from '../payments/settlements';
import { PromotionsService } from '../promotions/promotions.service';
import { TenantAdmission } from './admission';
import { OrderProcessingEnv } from '../config';
import { delayedStatusEventId, Order, OrderStore } from './order-store';

export type FinalStatus = 'CONFIRMED' | 'REJECTED' | 'FAILED' | 'CANCELLED';

/** What an order that ends may still hold at the gateway: an authorization whose id it knows, one it may not know of, or none. */
export type HeldAuthorization = 'known' | 'maybe' | 'none';

/** What an ending order may hold: stock (by default if it was in flight: inventory may have reserved before this side knew) and an authorization. */
export interface Holdings {
  stock?: boolean;
  authorization?: HeldAuthorization;
}

/**
 * How an order moves, in one place: every status change publishes its
 * status event; an order that starts asks inventory to reserve; one that
 * ends undoes what it holds (unless confirmed) and lets its tenant's oldest
 * waiting orders start in its place, in the same transaction.
 */
@Injectable()
export class OrderLifecycle {
  private readonly logger = new Logger('Saga');

  constructor(
    private readonly orders: OrderStore,
    private readonly promotions: PromotionsService,
    private readonly admission: TenantAdmission,
    private readonly settlements: SettlementJobs,
    private readonly cfg: OrderProcessingEnv,
  ) {}

  /**
   * Moves the order (state machine permitting) and publishes its status
   * events; false if refused. `delayMs`: its events leave that much later,
   * under ids a later step can withdraw them by (delayedStatusEventId).
   */
  async move(tx: Tx, order: Order, to: OrderStatus, reason?: string, delayMs = 0): Promise<boolean> {
    const events = await this.orders.transition(tx, order, to, reason);
    for (const e of events) tx.publish('order.status-changed.v1', e, delayMs > 0 ? { delayMs, id: delayedStatusEventId(order.id, e.status) } : undefined);
    return events.length > 0;
  }

  /**
   * PENDING → PROCESSING: asks inventory to reserve (and price). Its status
   * events wait STATUS_COALESCE_MS: the step that receives inventory's
   * answer takes them back, and an order it ends carries them in its final
   * event instead (SagaService.onOrder).
   */
  async start(tx: Tx, order: Order): Promise<void> {
    if (await this.move(tx, order, 'PROCESSING', undefined, this.cfg.STATUS_COALESCE_MS)) {
      this.admission.started(order.tenantId);
      tx.publish('inventory.reserve.v1', { orderId: order.id, tenantId: order.tenantId, items: order.items.map(({ sku, quantity }) => ({ sku, quantity })) });
    }
  }

  /**
   * Moves the order to a final state; unless confirmed, undoes what it holds.
   * If it was in flight and its tenant has orders waiting (or that was not
   * read), the oldest of them start in its place while the tenant has room.
   */
  async finish(tx: Tx, order: Order, to: FinalStatus, reason?: string, holds: Holdings = {}): Promise<boolean> {
    const wasInFlight = order.status === 'PROCESSING';
    if (!(await this.move(tx, order, to, reason))) return false;
    if (to !== 'CONFIRMED') {
      await this.compensate(tx, order, { stock: holds.stock ?? (wasInFlight || order.reserved), authorization: holds.authorization ?? (order.authorizationId ? 'known' : 'none') });
    }
    if (wasInFlight) {
      this.admission.ran(order);
      this.admission.noteActive(order.tenantId);
    }
    if (wasInFlight && order.tenantWaiting !== false) await this.admitWaiting(tx, order.tenantId);
    return true;
  }

  /** Starts the tenant's oldest waiting orders while it has room (those a cancel holds right now are skipped: it ends them). */
  async admitWaiting(tx: Tx, tenantId: string): Promise<number> {
    const limits = this.admission.limits(tenantId);
    if (limits === 0) return 0;
    // the room and the oldest waiting orders in one statement
    const { inFlight, waiting } = await this.orders.lockAdmissible(tx, tenantId, limits);
    this.admission.roomBeside(tenantId, inFlight); // arms the budget's wake where its tokens held orders back
    for (const next of waiting) await this.start(tx, next);
    return waiting.length;
  }

  /**
   * Undoes what an order that did not complete holds: reserved stock (a
   * release is a no-op where nothing is held), an authorization (voided; one
   * whose id it never learned is looked up through the gateway idempotency
   * key), and a coupon redemption.
   */
  async compensate(tx: Tx, order: Order, holds: Required<Holdings>): Promise<void> {
    const ref = { orderId: order.id, tenantId: order.tenantId };
    if (holds.stock) tx.publish('inventory.release.v1', { ...ref, reason: order.reason ?? order.status.toLowerCase() });
    if (holds.authorization !== 'none') await this.settlements.schedule(tx, { ...ref, action: 'void', authorizationId: order.authorizationId });
    if (order.couponCode) this.promotions.giveBack(tx, order.id); // only a coupon is ever redeemed
  }

  late(order: Order, what: string): void {
    this.logger.log(`order ${order.id} is ${order.status}: ${what} changes nothing`);
  }
}
