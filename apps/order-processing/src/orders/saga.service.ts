import { Injectable, Logger } from '@nestjs/common';
import { ADMIT_PRIORITY, Envelope, MessageName, PayloadOf } from '@orders/contracts';
import { Tx, UnitOfWork } from '@orders/messaging';
import { OrderProcessingEnv } from '../config';
import { AuthorizationOutcome, PaymentsService } from '../payments/payments.service';
import { PromotionsService } from '../promotions/promotions.service';
import { TenantAdmission } from './admission';
import { Order, OrderStore } from './order-store';
import { isFinal } from './state-machine';
import { subtotalOf, totalsOf } from './totals';

/** Messages whose loss (dead-lettered) leaves their order unable to complete: the order is failed instead. */
const SAGA_STEPS: ReadonlySet<MessageName> = new Set<MessageName>([
  'order.placed.v1', 'inventory.reserve.v1', 'inventory.reserved.v1', 'inventory.reservation-rejected.v1',
  'inventory.commit.v1', 'inventory.committed.v1', 'inventory.commit-failed.v1', 'payment.authorize.v1',
]);

type FinalStatus = 'CONFIRMED' | 'REJECTED' | 'FAILED' | 'CANCELLED';
type SagaStepOnOrder = 'inventory.reservation-rejected.v1' | 'inventory.reserved.v1' | 'inventory.committed.v1' | 'inventory.commit-failed.v1';

/**
 * The order saga. Every step runs once per message (inbox), locks the order
 * row, moves it through the state machine and publishes what comes next
 * through the outbox, in one transaction. Steps arriving after the order left
 * PROCESSING change nothing and compensate what they would leave open.
 * Every accepted order ends: a cancel that overtakes its order's placement is
 * remembered, a dead-lettered step fails its order, and the watchdog fails
 * any order older than ORDER_MAX_AGE_MS — each with full compensation.
 */
@Injectable()
export class SagaService {
  private readonly logger = new Logger('Saga');

  constructor(
    private readonly uow: UnitOfWork,
    private readonly orders: OrderStore,
    private readonly promotions: PromotionsService,
    private readonly admission: TenantAdmission,
    private readonly payments: PaymentsService,
    private readonly cfg: OrderProcessingEnv,
  ) {}

  async placed(env: Envelope<'order.placed.v1'>): Promise<void> {
    const p = env.payload;
    await this.uow.handleOnce(env, async (tx) => {
      await this.orders.serializeArrival(tx.manager, p.orderId);
      const placed = await this.orders.insertPlaced(tx.manager, p);
      if (!placed) {
        this.logger.warn(`order ${p.orderId} was already placed; ignoring a second order.placed.v1`);
        return;
      }
      const { order } = placed;
      this.admission.noteActive(order.tenantId);
      if (placed.earlyCancel) {
        // cancelled while its placement waited in a backlog: it ends before reserving anything
        await this.finish(tx, order, 'CANCELLED', 'cancelled_by_customer');
        return;
      }
      // oldest first: while the tenant has orders waiting, a new one waits behind them (order.admit-waiting.v1 starts them)
      if (!placed.tenantWaiting && this.admission.roomBeside(order.tenantId, placed.inFlight) > 0) await this.start(tx, order);
      else this.logger.log(`order ${p.orderId} waits: tenant ${p.tenantId} has its share of orders in flight, or others waiting`);
    });
  }

  /**
   * Starts the tenant's oldest waiting orders while it has room. This runs
   * only from order-processing.placed, after every message delivered before
   * it (@OnMessage afterEarlier): a cancel for a waiting order queued there
   * is handled first, and the order never starts.
   */
  async admitWaiting(env: Envelope<'order.admit-waiting.v1'>): Promise<void> {
    await this.uow.handleOnce(env, async (tx) => {
      const room = await this.admission.room(tx.manager, env.payload.tenantId);
      if (room === 0) return;
      const waiting = await this.orders.lockOldestWaiting(tx.manager, env.payload.tenantId, room);
      for (const order of waiting) await this.start(tx, order);
    });
  }

  /** PENDING → PROCESSING: ask inventory to reserve. */
  private async start(tx: Tx, order: Order): Promise<void> {
    if (await this.orders.transition(tx, order, 'PROCESSING')) {
      tx.publish('inventory.reserve.v1', { orderId: order.id, tenantId: order.tenantId, items: order.items.map(({ sku, quantity }) => ({ sku, quantity })) });
    }
  }

  async reservationRejected(env: Envelope<'inventory.reservation-rejected.v1'>): Promise<void> {
    await this.onOrder(env, async (tx, order) => {
      if (order.status !== 'PROCESSING') return this.late(order, env.name);
      await this.finish(tx, order, 'REJECTED', env.payload.reason);
    });
  }

  async reserved(env: Envelope<'inventory.reserved.v1'>): Promise<void> {
    const p = env.payload;
    await this.onOrder(env, async (tx, order) => {
      if (order.status !== 'PROCESSING') {
        // Ended while inventory was reserving: give the stock back (unless it was already given back or sold).
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
      await this.orders.setPriced(tx.manager, order, p.lines, totalsOf(subtotal, discount, p.currency), true);
      tx.publish('payment.authorize.v1', { orderId: order.id, tenantId: order.tenantId });
    });
  }

  /**
   * The authorize step: the gateway call happens outside any transaction
   * (after a cheap inbox check, and marked on the order in the same
   * statement); its outcome is then recorded once. While the gateway is
   * unavailable the step is deferred (PaymentsService).
   */
  async authorize(env: Envelope<'payment.authorize.v1'>, firstAttemptAt: Date): Promise<void> {
    const orderId = env.payload.orderId;
    const { seen, order, authorizing } = await this.orders.beforeGatewayCall(orderId, this.uow.seenSql(env.id), true);
    if (seen) return;
    let result: AuthorizationOutcome | undefined;
    if (authorizing && order?.totals) {
      result = await this.payments.authorizeAtGateway({ ...order, totals: order.totals }, firstAttemptAt);
    } else {
      this.logger.log(`order ${orderId}: nothing to authorize (${order ? order.status : 'unknown order'})`);
    }
    await this.uow.handleOnce(
      env,
      async (tx, locked) => {
        if (result) await this.authorizationResult(tx, this.orders.locked(locked, orderId), result);
      },
      result ? this.orders.lockStatement(orderId) : undefined,
    );
  }

  private async authorizationResult(tx: Tx, order: Order, r: AuthorizationOutcome): Promise<void> {
    const orderId = order.id;
    if (r.outcome === 'authorized') {
      if (order.authorizationId === r.authorizationId) return;
      await this.orders.setAuthorization(tx.manager, order, r.authorizationId);
      if (order.status !== 'PROCESSING') {
        // Ended while the gateway was authorizing: nothing may stay authorized.
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
    await this.onOrder(env, async (tx, order) => {
      if (order.status !== 'PROCESSING') return this.late(order, env.name); // its release (published when it ended) returns the units
      if (await this.finish(tx, order, 'CONFIRMED')) {
        tx.publish('payment.capture.v1', { orderId: order.id, tenantId: order.tenantId });
      }
    });
  }

  async commitFailed(env: Envelope<'inventory.commit-failed.v1'>): Promise<void> {
    await this.onOrder(env, async (tx, order) => {
      if (order.status !== 'PROCESSING') return this.late(order, env.name);
      await this.orders.setReserved(tx.manager, order, false); // nothing left reserved to release
      await this.finish(tx, order, 'FAILED', env.payload.reason);
    });
  }

  /**
   * A cancel wins unless the order is already final. One that overtakes its
   * order's placement (a backlog of new orders) is remembered and applied when
   * the placement arrives; one for a CONFIRMED order is refused and recorded.
   */
  async cancelRequested(env: Envelope<'order.cancel-requested.v1'>): Promise<void> {
    const p = env.payload;
    const arrival = this.orders.lockStatement(p.orderId, true); // serialized with its placement (serializeArrival)
    await this.uow.handleOnce(env, async (tx, locked) => {
      const order = this.orders.lockedIfKnown(locked);
      if (!order) {
        await this.orders.rememberEarlyCancel(tx.manager, p.orderId, p.tenantId, p.requestedAt);
        this.logger.log(`order ${p.orderId}: cancel arrived before the order; it ends CANCELLED when it arrives`);
        return;
      }
      if (order.status === 'CONFIRMED') return this.orders.recordRefusedCancel(tx, order);
      if (isFinal(order.status)) return this.late(order, env.name);
      await this.finish(tx, order, 'CANCELLED', 'cancelled_by_customer');
    }, arrival);
  }

  /** A step of an order's saga was dead-lettered: the order cannot complete, so it fails with full compensation. */
  async deadLettered(env: Envelope<'message.dead-lettered.v1'>): Promise<void> {
    const p = env.payload;
    const steps = p.orderId && SAGA_STEPS.has(p.name as MessageName);
    await this.uow.handleOnce(env, async (tx, locked) => {
      if (!steps) return;
      const order = this.orders.lockedIfKnown(locked);
      if (!order && p.name === 'order.placed.v1' && p.placedOrder) return this.placementDeadLettered(tx, p.placedOrder, p.queue, p.reason);
      if (!order) return this.logger.error(`order ${p.orderId}: its ${p.name} was dead-lettered before the order was known (${p.reason})`);
      if (isFinal(order.status)) return this.late(order, `dead-lettered ${p.name}`);
      this.logger.error(`order ${order.id}: ${p.name} was dead-lettered on ${p.queue} (${p.reason}); failing the order`);
      const heldNothingYet = !order.reserved;
      await this.finish(tx, order, 'FAILED', 'processing_error');
      // inventory may have reserved although this side never recorded it (e.g. inventory.reserved.v1 itself was lost): release is a no-op otherwise
      if (heldNothingYet) tx.publish('inventory.release.v1', { orderId: order.id, tenantId: order.tenantId, reason: 'processing_error' });
    }, steps ? this.orders.lockStatement(p.orderId!) : undefined);
  }

  /**
   * The order's own placement was dead-lettered, so this service never knew
   * the order: it is recorded from the announcement and ends FAILED
   * (processing_error) at once, holding nothing. A later replay of that
   * placement finds the order already placed and changes nothing.
   */
  private async placementDeadLettered(tx: Tx, placed: PayloadOf<'order.placed.v1'>, queue: string, reason: string): Promise<void> {
    await this.orders.serializeArrival(tx.manager, placed.orderId);
    const stored = await this.orders.insertPlaced(tx.manager, placed);
    if (!stored) return;
    const { order } = stored;
    this.logger.error(`order ${order.id}: its order.placed.v1 was dead-lettered on ${queue} (${reason}); failing the order`);
    // a cancel accepted while it was PENDING still wins
    if (stored.earlyCancel) await this.finish(tx, order, 'CANCELLED', 'cancelled_by_customer');
    else await this.finish(tx, order, 'FAILED', 'processing_error');
  }

  /** The watchdog: fails (with compensation) orders not final after ORDER_MAX_AGE_MS, a batch at a time. Returns how many. */
  async failOverdue(limit = 100): Promise<number> {
    return this.uow.transaction(async (tx) => {
      const overdue = await this.orders.lockOverdue(tx.manager, this.cfg.ORDER_MAX_AGE_MS, limit);
      for (const order of overdue) {
        this.logger.error(`order ${order.id} is still ${order.status} after ${this.cfg.ORDER_MAX_AGE_MS} ms; failing it`);
        await this.finish(tx, order, 'FAILED', 'processing_timeout');
      }
      return overdue.length;
    });
  }

  /**
   * Moves the order to a final state; unless confirmed, undoes what it holds.
   * If it was in flight and its tenant has orders waiting (or that was not
   * read), the oldest of them may start in its place: through
   * order-processing.placed, behind any cancel queued there. An order that
   * begins to wait just now is started by the reconciler.
   */
  private async finish(tx: Tx, order: Order, to: FinalStatus, reason?: string): Promise<boolean> {
    const wasInFlight = order.status === 'PROCESSING';
    if (!(await this.orders.transition(tx, order, to, reason))) return false;
    if (to !== 'CONFIRMED') await this.compensate(tx, order);
    if (wasInFlight) this.admission.noteActive(order.tenantId);
    if (wasInFlight && order.tenantWaiting !== false) this.admitNext(tx, order.tenantId);
    return true;
  }

  private admitNext(tx: Tx, tenantId: string): void {
    tx.publish('order.admit-waiting.v1', { tenantId }, { priority: ADMIT_PRIORITY });
  }

  /** The admission reconciler: asks again for tenants whose orders wait although they have room (see TenantAdmission). Returns how many. */
  async admitStranded(): Promise<number> {
    return this.uow.transaction(async (tx) => {
      const tenants = await this.admission.stranded(tx.manager);
      for (const tenantId of tenants) this.admitNext(tx, tenantId);
      return tenants.length;
    });
  }

  /**
   * Undoes what an order that did not complete holds: reserved (or already
   * committed) stock, an authorization — also one whose answer never arrived,
   * found by the void through the gateway idempotency key — and a coupon redemption.
   */
  private async compensate(tx: Tx, order: Order): Promise<void> {
    const ref = { orderId: order.id, tenantId: order.tenantId };
    if (order.reserved) tx.publish('inventory.release.v1', { ...ref, reason: order.reason ?? order.status.toLowerCase() });
    if (order.authorizationId || order.authorizeRequestedAt) tx.publish('payment.void.v1', ref);
    if (order.couponCode) await this.promotions.giveBack(tx.manager, order.id); // only a coupon is ever redeemed
  }

  /** A step on one order: its inbox row and the order's lock go in the round trip that opens the transaction. */
  private async onOrder(env: Envelope<SagaStepOnOrder>, fn: (tx: Tx, order: Order) => Promise<void>): Promise<void> {
    const { orderId } = env.payload;
    await this.uow.handleOnce(env, (tx, locked) => fn(tx, this.orders.locked(locked, orderId)), this.orders.lockStatement(orderId));
  }

  private late(order: Order, what: string): void {
    this.logger.log(`order ${order.id} is ${order.status}: ${what} changes nothing`);
  }
}
