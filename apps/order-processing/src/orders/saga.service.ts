import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CancelVerdict, Envelope, parseEnvelope, PayloadOf } from '@orders/contracts';
import { DUPLICATE, MessageContext, Outbox, Tx, UnitOfWork } from '@orders/messaging';
import { OrderProcessingEnv } from '../config';
import { AuthorizationOutcome, PaymentsService } from '../payments/payments.service';
import { SettlementAction, SettlementJobs } from '../payments/settlements';
import { PromotionsService } from '../promotions/promotions.service';
import { TenantAdmission } from './admission';
import { OrderLifecycle } from './order-lifecycle';
import { delayedStatusEventId, Order, OrderStore } from './order-store';
import { isFinal } from './state-machine';
import { subtotalOf, Totals, totalsOf } from './totals';

/** Messages whose loss (dead-lettered) leaves their order unable to complete: the order is failed instead. */
const SAGA_STEP = /^(order\.placed|inventory\.(reserve|reserved|reservation-rejected|commit|committed|commit-failed)|payment\.authorize)\.v\d+$/;
/** A dead-lettered step during which the gateway may have been called: the order's authorization, if any, is looked up and voided. */
const MAY_HAVE_AUTHORIZED = /^(inventory\.reserved|payment\.authorize)\.v\d+$/;

/**
 * The order saga, in three messages: a placement (admitted fairly, it asks
 * inventory to reserve), inventory's answer (with the prices: the coupon is
 * applied, the total authorized at the gateway outside any transaction, and
 * the outcome recorded in one: confirmed, with the stock commit and the
 * capture following on their own; or rejected or failed, compensated), and
 * the status events it publishes. A cancel is a request answered with the
 * decision it committed. Every accepted order ends: a cancel that overtakes
 * its order's placement is remembered, a dead-lettered step fails its order,
 * and the watchdog fails any order older than ORDER_MAX_AGE_MS, each with
 * full compensation.
 */
@Injectable()
export class SagaService implements OnModuleInit {
  private readonly logger = new Logger('Saga');

  constructor(
    private readonly uow: UnitOfWork,
    private readonly orders: OrderStore,
    private readonly lifecycle: OrderLifecycle,
    private readonly promotions: PromotionsService,
    private readonly admission: TenantAdmission,
    private readonly payments: PaymentsService,
    private readonly settlements: SettlementJobs,
    private readonly cfg: OrderProcessingEnv,
    private readonly outbox: Outbox,
  ) {}

  onModuleInit(): void {
    this.settlements.onRefusal((orderId, action, reason) => this.settlementRefused(orderId, action, reason));
    this.admission.onWake((tenantId) => this.uow.transaction((tx) => this.lifecycle.admitWaiting(tx, tenantId)));
  }

  async placed(env: Envelope<'order.placed.v1'>): Promise<void> {
    const p = env.payload;
    // the arrival lock, then the order stored, in the round trip that opens the transaction
    const first = [this.orders.arrivalLockStatement(p.orderId), this.orders.insertPlacedStatement(p)];
    await this.uow.handleOnce(env, async (tx, results) => {
      const placed = this.orders.placedFrom(results[1]);
      if (!placed) return this.logger.warn(`order ${p.orderId} was already placed; ignoring a second order.placed.v1`);
      const { order } = placed;
      this.admission.noteActive(order.tenantId);
      // cancelled while its placement waited in a backlog: it ends before reserving anything
      if (placed.earlyCancel) return void (await this.lifecycle.finish(tx, order, 'CANCELLED', 'cancelled_by_customer'));
      // oldest first: while the tenant has orders waiting, a new one waits behind them (they start as earlier ones finish)
      if (!placed.tenantWaiting && this.admission.roomBeside(order.tenantId, placed.inFlight) > 0) await this.lifecycle.start(tx, order);
      else this.logger.log(`order ${p.orderId} waits: tenant ${p.tenantId} has its share of orders in flight, or others waiting`);
    }, first);
  }

  /**
   * A cancel wins unless the order is already final; the answer says what
   * was decided (the requester waits for it). One that overtakes its order's
   * placement is remembered and applied when the placement arrives; one for
   * a CONFIRMED order is refused and recorded.
   */
  async cancelRequested(env: Envelope<'order.cancel-requested.v1'>): Promise<CancelVerdict> {
    const p = env.payload;
    const arrival = this.orders.lockStatement(p.orderId, true); // serialized with its placement (arrivalLockStatement)
    const verdict = await this.uow.handleOnce(env, async (tx, locked): Promise<CancelVerdict> => {
      const order = this.orders.lockedIfKnown(locked);
      if (!order) {
        this.orders.rememberEarlyCancel(tx, p.orderId, p.tenantId, p.requestedAt);
        this.logger.log(`order ${p.orderId}: cancel arrived before the order; it ends CANCELLED when it arrives`);
        return { outcome: 'will_cancel', status: 'PENDING' };
      }
      if (order.status === 'CONFIRMED') {
        await this.lifecycle.move(tx, order, 'CONFIRMED', 'cancel_refused');
        return { outcome: 'refused', status: 'CONFIRMED' };
      }
      if (isFinal(order.status)) return this.verdictOf(order);
      const was = order.status;
      await this.lifecycle.finish(tx, order, 'CANCELLED', 'cancelled_by_customer', { authorization: order.authorizationId ? 'known' : was === 'PROCESSING' ? 'maybe' : 'none' });
      return { outcome: 'cancelled', status: was };
    }, arrival);
    if (verdict !== DUPLICATE) return verdict;
    // handled before (a redelivery, or a repeated request): what was decided then
    const order = await this.orders.find(p.orderId);
    return order ? this.verdictOf(order) : { outcome: (await this.orders.hasEarlyCancel(p.orderId)) ? 'will_cancel' : 'final', status: 'PENDING' };
  }

  private verdictOf(order: Order): CancelVerdict {
    if (order.status === 'CANCELLED' && order.reason === 'cancelled_by_customer') return { outcome: 'cancelled', status: 'CANCELLED' };
    if (order.status === 'CONFIRMED') return { outcome: 'refused', status: 'CONFIRMED' };
    return { outcome: isFinal(order.status) ? 'final' : 'cancelled', status: order.status };
  }

  async reservationRejected(env: Envelope<'inventory.reservation-rejected.v1'>): Promise<void> {
    await this.onOrder(env, async (tx, order) => {
      if (order.status !== 'PROCESSING') return this.lifecycle.late(order, env.name);
      await this.lifecycle.finish(tx, order, 'REJECTED', env.payload.reason, { stock: false });
    });
  }

  /**
   * Inventory reserved the order's lines at these prices: the coupon is
   * applied, the total authorized at the gateway (outside any transaction:
   * a cheap read first), then the outcome recorded in one transaction:
   * CONFIRMED (the stock commit and the capture follow without a reply),
   * or REJECTED / FAILED with the stock released and any authorization
   * voided. While the gateway is unavailable the message is deferred, up to
   * PAYMENT_MAX_WAIT_MS; the gateway's idempotency key makes every repeat
   * of the call the same authorization.
   */
  async reserved(env: Envelope<'inventory.reserved.v1'>, ctx: MessageContext): Promise<void> {
    const p = env.payload;
    const { seen, order: before } = await this.orders.beforeGatewayCall(p.orderId, this.uow.seenKey(env.id));
    if (seen) return;
    const subtotal = subtotalOf(p.lines);
    let totals: Totals | undefined;
    let outcome: AuthorizationOutcome | undefined;
    if (before?.status === 'PROCESSING' && !before.authorizationId) {
      const coupon = before.couponCode ? await this.promotions.quote(before.couponCode, subtotal, p.currency) : { ok: true as const, discountCents: 0 };
      if (coupon.ok) {
        totals = totalsOf(subtotal, coupon.discountCents, p.currency);
        outcome = await this.payments.authorize({ orderId: before.id, amountCents: totals.totalCents, currency: totals.currency, token: before.paymentToken }, ctx.firstAttemptAt);
      }
    }
    await this.onOrder(env, async (tx, order) => {
      const authorizedNow = outcome?.outcome === 'authorized' ? outcome.authorizationId : null;
      if (order.status !== 'PROCESSING' || order.authorizationId) {
        // Ended (or decided) while inventory reserved or the gateway answered: give back what this step holds.
        this.lifecycle.late(order, env.name);
        if (order.status === 'CONFIRMED' || order.authorizationId) return;
        if (!order.reserved) tx.publish('inventory.release.v1', { orderId: order.id, tenantId: order.tenantId, reason: `order_${order.status.toLowerCase()}` });
        // an earlier delivery of this step may have authorized before its process died
        const maybe = authorizedNow ? null : ctx.attempt > 1 || ctx.deferrals > 0 || ctx.raw.fields.redelivered;
        if (authorizedNow || maybe) await this.settlements.schedule(tx, { orderId: order.id, tenantId: order.tenantId, action: 'void', authorizationId: authorizedNow });
        return;
      }
      await this.recordAuthorization(tx, order, p, totals, outcome);
    });
  }

  /** The outcome of the reserved step, in its transaction (the order is PROCESSING and holds no authorization yet). */
  private async recordAuthorization(tx: Tx, order: Order, p: PayloadOf<'inventory.reserved.v1'>, totals: Totals | undefined, outcome: AuthorizationOutcome | undefined): Promise<void> {
    const authorizationId = outcome?.outcome === 'authorized' ? outcome.authorizationId : null;
    const subtotal = subtotalOf(p.lines);
    if (!totals) {
      this.orders.setPriced(tx, order, p.lines, totalsOf(subtotal, 0, p.currency));
      this.logger.log(`order ${order.id}: coupon ${order.couponCode} not applicable`);
      return void (await this.lifecycle.finish(tx, order, 'REJECTED', 'invalid_coupon'));
    }
    if (order.couponCode && authorizationId) {
      const r = await this.promotions.redeem(tx, order.couponCode, order.id, subtotal, p.currency);
      if (!r.ok || r.discountCents !== totals.discountCents) {
        // used up (or changed) between the quote and now: the authorization is voided
        this.orders.setPriced(tx, order, p.lines, totals, authorizationId);
        return void (await this.lifecycle.finish(tx, order, 'REJECTED', 'invalid_coupon'));
      }
    }
    this.orders.setPriced(tx, order, p.lines, totals, authorizationId);
    if (!outcome || outcome.outcome === 'failed') return void (await this.lifecycle.finish(tx, order, 'FAILED', outcome?.reason ?? 'payment_error', { authorization: 'maybe' }));
    if (outcome.outcome === 'declined') return void (await this.lifecycle.finish(tx, order, 'REJECTED', 'payment_declined'));
    if (outcome.outcome === 'invalid') return void (await this.lifecycle.finish(tx, order, 'REJECTED', 'payment_invalid'));
    if (Date.parse(p.expiresAt) - Date.now() < this.cfg.RESERVATION_CONFIRM_MARGIN_MS) {
      // too late to count on the hold: the commit might find it gone
      return void (await this.lifecycle.finish(tx, order, 'FAILED', 'reservation_expired'));
    }
    await this.confirm(tx, order);
  }

  /** CONFIRMED: inventory turns the hold into a sale and the authorization is captured, neither answering back. */
  async confirm(tx: Tx, order: Order): Promise<void> {
    if (!(await this.lifecycle.finish(tx, order, 'CONFIRMED'))) return;
    const skus = [...new Set(order.items.map((i) => i.sku))].sort();
    tx.publish('inventory.commit.v1', { orderId: order.id, tenantId: order.tenantId, skus });
    await this.settlements.schedule(tx, { orderId: order.id, tenantId: order.tenantId, action: 'capture', authorizationId: order.authorizationId });
  }

  /** A step of an order's saga was dead-lettered: the order cannot complete, so it fails with full compensation. */
  async deadLettered(env: Envelope<'message.dead-lettered.v1'>): Promise<void> {
    const p = env.payload;
    const step = !!p.orderId && SAGA_STEP.test(p.name);
    await this.uow.handleOnce(env, async (tx, locked) => {
      if (!step) return;
      const order = this.orders.lockedIfKnown(locked);
      if (!order && /^order\.placed\.v\d+$/.test(p.name)) return this.placementDeadLettered(tx, p); // under the arrival lock (lockStatement)
      if (!order) return this.logger.error(`order ${p.orderId}: its ${p.name} was dead-lettered before the order was known (${p.reason})`);
      if (isFinal(order.status)) return this.lifecycle.late(order, `dead-lettered ${p.name}`);
      this.logger.error(`order ${order.id}: ${p.name} was dead-lettered on ${p.queue} (${p.reason}); failing the order`);
      const authorization = order.authorizationId ? 'known' : MAY_HAVE_AUTHORIZED.test(p.name) ? 'maybe' : 'none';
      await this.lifecycle.finish(tx, order, 'FAILED', 'processing_error', { authorization });
    }, step ? this.orders.lockStatement(p.orderId!, true) : undefined);
  }

  /**
   * The order's own placement was dead-lettered (also one this version could
   * not read), so this service never knew the order: it is recorded from the
   * announcement and ends at once, holding nothing: CANCELLED if a cancel
   * waited for it, else FAILED (processing_error). A later replay of that
   * placement finds the order already placed and changes nothing.
   */
  private async placementDeadLettered(tx: Tx, p: PayloadOf<'message.dead-lettered.v1'>): Promise<void> {
    const placed = p.placedOrder ?? { orderId: p.orderId!, tenantId: p.tenantId ?? 'unknown', placedAt: new Date().toISOString() };
    const stored = await this.orders.insertPlaced(tx, placed);
    if (!stored) return;
    this.logger.error(`order ${p.orderId}: its ${p.name} was dead-lettered on ${p.queue} (${p.reason}); failing the order`);
    if (stored.earlyCancel) await this.lifecycle.finish(tx, stored.order, 'CANCELLED', 'cancelled_by_customer');
    else await this.lifecycle.finish(tx, stored.order, 'FAILED', 'processing_error');
  }

  /** The watchdog: fails (with compensation) orders not final after ORDER_MAX_AGE_MS, a batch at a time. Returns how many. */
  async failOverdue(limit = 100): Promise<number> {
    return this.uow.transaction(async (tx) => {
      const overdue = await this.orders.lockOverdue(tx, this.cfg.ORDER_MAX_AGE_MS, limit);
      for (const order of overdue) {
        this.logger.error(`order ${order.id} is still ${order.status} after ${this.cfg.ORDER_MAX_AGE_MS} ms; failing it`);
        await this.lifecycle.finish(tx, order, 'FAILED', 'processing_timeout', { authorization: order.authorizationId ? 'known' : order.status === 'PROCESSING' ? 'maybe' : 'none' });
      }
      return overdue.length;
    });
  }

  /** The admission reconciler: starts waiting orders of tenants that have room (see TenantAdmission). Returns how many tenants. */
  async admitStranded(): Promise<number> {
    return this.uow.transaction(async (tx) => {
      const tenants = await this.admission.stranded(tx);
      for (const tenantId of tenants) await this.lifecycle.admitWaiting(tx, tenantId);
      return tenants.length;
    });
  }

  /** The gateway refused a capture or void for good: the order's history says so (status unchanged), and an operator settles it. */
  private async settlementRefused(orderId: string, action: SettlementAction, reason: string): Promise<void> {
    await this.uow.transaction(async (tx) => {
      const order = await this.orders.lockInTransaction(tx, orderId);
      if (order) await this.lifecycle.move(tx, order, order.status, `${action}_refused`);
      this.logger.error(`order ${orderId}: ${action} refused by the gateway (${reason})`);
    }, orderId);
  }

  /**
   * A step on the locked order (its inbox row and the order's lock go in the round trip that opens the transaction). The steps that answer its reservation also
   * take back its PROCESSING events still waiting to be sent (in the same
   * round trip): if the step ends the order, its final event carries them;
   * otherwise they are sent now, as they were.
   */
  private async onOrder<N extends 'inventory.reservation-rejected.v1' | 'inventory.reserved.v1' | 'inventory.committed.v1' | 'inventory.commit-failed.v1' | 'payment.authorize.v1'>(
    env: Envelope<N>, fn: (tx: Tx, order: Order) => Promise<void>,
  ): Promise<void> {
    const { orderId } = env.payload;
    const withdraw = this.cfg.STATUS_COALESCE_MS > 0 && /^inventory\.(reserved|reservation-rejected)\.v\d+$/.test(env.name);
    const ids = (['PENDING', 'PROCESSING'] as const).map((s) => delayedStatusEventId(orderId, s));
    const first = withdraw ? [this.outbox.withdrawSql(ids), ...this.orders.lockStatement(orderId)] : this.orders.lockStatement(orderId);
    await this.uow.handleOnce(env, async (tx, locked) => {
      const order = this.orders.locked(locked, orderId);
      if (withdraw) order.withdrawn = (locked[0] as Array<{ body: string }>).map((r) => parseEnvelope(Buffer.from(r.body)) as Envelope<'order.status-changed.v1'>);
      await fn(tx, order);
      // not ended here: what was taken back goes out now, unchanged (same ids: a copy already sent is a duplicate)
      for (const e of order.withdrawn?.splice(0) ?? []) tx.publish('order.status-changed.v1', e.payload, { id: e.id, correlationId: e.correlationId });
    }, first);
  }
}
