import { Injectable, Logger } from '@nestjs/common';
import { Envelope } from '@orders/contracts';
import { Tx, UnitOfWork } from '@orders/messaging';
import { subtotalOf, totalsOf } from '../promotions/coupon';
import { PromotionsService } from '../promotions/promotions.service';
import { TenantAdmission } from './admission';
import { Order, OrderStore } from './order-store';
import { isFinal } from './state-machine';

export type AuthorizationOutcome =
  | { outcome: 'authorized'; authorizationId: string }
  | { outcome: 'declined'; reason: string }
  | { outcome: 'invalid'; message: string }
  /** The gateway stayed unavailable through every retry, or answered something unusable. */
  | { outcome: 'failed'; reason: 'payment_unavailable' | 'payment_error' };

/**
 * The order saga. Every step runs once per message (inbox), locks the order
 * row, moves it through the state machine and publishes what comes next
 * through the outbox, in one transaction. Steps arriving after the order left
 * PROCESSING change nothing and compensate what they would leave open.
 */
@Injectable()
export class SagaService {
  private readonly logger = new Logger('Saga');

  constructor(
    private readonly uow: UnitOfWork,
    private readonly orders: OrderStore,
    private readonly promotions: PromotionsService,
    private readonly admission: TenantAdmission,
  ) {}

  async placed(env: Envelope<'order.placed.v1'>): Promise<void> {
    const p = env.payload;
    await this.uow.handleOnce(env, async (tx) => {
      if (!(await this.orders.insertPlaced(tx.manager, p))) {
        this.logger.warn(`order ${p.orderId} was already placed; ignoring a second order.placed.v1`);
        return;
      }
      if ((await this.admission.room(tx.manager, p.tenantId)) > 0) await this.start(tx, await this.orders.lock(tx.manager, p.orderId));
      else this.logger.log(`order ${p.orderId} waits: tenant ${p.tenantId} has its maximum of orders in flight`);
    });
  }

  /** PENDING → PROCESSING: ask inventory to reserve. */
  private async start(tx: Tx, order: Order): Promise<void> {
    if (await this.orders.transition(tx, order, 'PROCESSING')) {
      tx.publish('inventory.reserve.v1', { orderId: order.id, tenantId: order.tenantId, items: order.items.map(({ sku, quantity }) => ({ sku, quantity })) });
    }
  }

  async reservationRejected(env: Envelope<'inventory.reservation-rejected.v1'>): Promise<void> {
    await this.uow.handleOnce(env, async (tx) => {
      const order = await this.orders.lock(tx.manager, env.payload.orderId);
      if (order.status !== 'PROCESSING') return this.late(order, env.name);
      await this.finish(tx, order, 'REJECTED', env.payload.reason);
    });
  }

  async reserved(env: Envelope<'inventory.reserved.v1'>): Promise<void> {
    const p = env.payload;
    await this.uow.handleOnce(env, async (tx) => {
      const order = await this.orders.lock(tx.manager, p.orderId);
      if (order.status !== 'PROCESSING') {
        // Cancelled while inventory was reserving: give the stock back (unless it was already given back or sold).
        this.late(order, env.name);
        if (!order.reserved && order.status !== 'CONFIRMED') {
          tx.publish('inventory.release.v1', { orderId: order.id, tenantId: order.tenantId, reason: `order_${order.status.toLowerCase()}` });
        }
        return;
      }
      if (order.reserved) return this.late(order, `${env.name} (already reserved)`);
      const subtotal = subtotalOf(p.lines);
      let discount = 0;
      if (order.couponCode) {
        const r = await this.promotions.redeem(tx.manager, order.couponCode, order.id, subtotal, p.currency);
        if (!r.ok) {
          await this.orders.setPriced(tx.manager, order, p.lines, totalsOf(subtotal, 0, p.currency));
          this.logger.log(`order ${order.id}: coupon ${order.couponCode} not applicable (${r.problem})`);
          await this.finish(tx, order, 'REJECTED', 'invalid_coupon');
          return;
        }
        discount = r.discountCents;
      }
      await this.orders.setPriced(tx.manager, order, p.lines, totalsOf(subtotal, discount, p.currency));
      tx.publish('payment.authorize.v1', { orderId: order.id, tenantId: order.tenantId });
    });
  }

  /** Records the gateway's answer to payment.authorize.v1 (the call itself happened outside any transaction). */
  async authorizationResult(tx: Tx, orderId: string, r: AuthorizationOutcome): Promise<void> {
    const order = await this.orders.lock(tx.manager, orderId);
    if (r.outcome === 'authorized') {
      if (order.authorizationId === r.authorizationId) return;
      await this.orders.setAuthorization(tx.manager, order, r.authorizationId);
      if (order.status !== 'PROCESSING') {
        // Cancelled while the gateway was authorizing: nothing may stay authorized.
        this.late(order, 'authorization');
        tx.publish('payment.void.v1', { orderId, tenantId: order.tenantId });
        return;
      }
      tx.publish('inventory.commit.v1', { orderId, tenantId: order.tenantId });
      return;
    }
    if (order.status !== 'PROCESSING') return this.late(order, `authorization ${r.outcome}`);
    if (r.outcome === 'declined') await this.finish(tx, order, 'REJECTED', 'payment_declined');
    else if (r.outcome === 'invalid') await this.finish(tx, order, 'REJECTED', 'payment_invalid');
    else await this.finish(tx, order, 'FAILED', r.reason);
  }

  async committed(env: Envelope<'inventory.committed.v1'>): Promise<void> {
    await this.uow.handleOnce(env, async (tx) => {
      const order = await this.orders.lock(tx.manager, env.payload.orderId);
      if (order.status !== 'PROCESSING') return this.late(order, env.name);
      if (await this.finish(tx, order, 'CONFIRMED')) {
        tx.publish('payment.capture.v1', { orderId: order.id, tenantId: order.tenantId });
      }
    });
  }

  async commitFailed(env: Envelope<'inventory.commit-failed.v1'>): Promise<void> {
    await this.uow.handleOnce(env, async (tx) => {
      const order = await this.orders.lock(tx.manager, env.payload.orderId);
      if (order.status !== 'PROCESSING') return this.late(order, env.name);
      await this.orders.setReserved(tx.manager, order, false); // nothing left reserved to release
      await this.finish(tx, order, 'FAILED', env.payload.reason);
    });
  }

  async cancelRequested(env: Envelope<'order.cancel-requested.v1'>): Promise<void> {
    await this.uow.handleOnce(env, async (tx) => {
      const order = await this.orders.lock(tx.manager, env.payload.orderId);
      if (isFinal(order.status)) return this.late(order, env.name);
      await this.finish(tx, order, 'CANCELLED', 'cancelled_by_customer');
    });
  }

  /**
   * Moves the order to a final state; unless confirmed, undoes what it holds.
   * If it was in flight, its tenant's oldest waiting order starts in its place.
   */
  private async finish(tx: Tx, order: Order, to: 'CONFIRMED' | 'REJECTED' | 'FAILED' | 'CANCELLED', reason?: string): Promise<boolean> {
    const wasInFlight = order.status === 'PROCESSING';
    if (!(await this.orders.transition(tx, order, to, reason))) return false;
    if (to !== 'CONFIRMED') await this.compensate(tx, order);
    if (wasInFlight) await this.admitWaiting(tx, order.tenantId);
    return true;
  }

  /** Starts the tenant's oldest waiting orders while it has room. */
  private async admitWaiting(tx: Tx, tenantId: string): Promise<number> {
    const room = await this.admission.room(tx.manager, tenantId);
    if (room === 0) return 0;
    const waiting = await this.admission.nextWaiting(tx.manager, tenantId, room);
    for (const id of waiting) await this.start(tx, await this.orders.lock(tx.manager, id));
    return waiting.length;
  }

  /** The admission reconciler: starts orders left waiting by the race described in TenantAdmission. */
  async admitStranded(): Promise<number> {
    const tenants = await this.uow.transaction((tx) => this.admission.stranded(tx.manager));
    let started = 0;
    for (const tenantId of tenants) started += await this.uow.transaction((tx) => this.admitWaiting(tx, tenantId));
    return started;
  }

  /** Undoes what an order that did not complete holds: reserved stock, an authorization, a coupon redemption. */
  private async compensate(tx: Tx, order: Order): Promise<void> {
    const ref = { orderId: order.id, tenantId: order.tenantId };
    if (order.reserved) tx.publish('inventory.release.v1', { ...ref, reason: order.reason ?? order.status.toLowerCase() });
    if (order.authorizationId) tx.publish('payment.void.v1', ref);
    await this.promotions.giveBack(tx.manager, order.id);
  }

  private late(order: Order, what: string): void {
    this.logger.log(`order ${order.id} is ${order.status}: ${what} changes nothing`);
  }
}
