import { Injectable, Logger } from '@nestjs/common';
import { Envelope } from '@orders/contracts';
import { UnitOfWork } from '@orders/messaging';
import { OrderProcessingEnv } from '../config';
import { Order, OrderStore } from '../orders/order-store';
import { AuthorizeResult, GatewayClient } from './gateway-client';
import { PaymentError } from './payment.error';

/** What the authorize step learned from the gateway. */
export type AuthorizationOutcome =
  | AuthorizeResult
  /** The gateway stayed unavailable past PAYMENT_MAX_WAIT_MS, or answered something unusable. */
  | { outcome: 'failed'; reason: 'payment_unavailable' | 'payment_error' };

/**
 * The gateway side of the payment steps; calls happen outside any database
 * transaction and the gateway's idempotency key makes a repeat safe.
 * - authorize: asks for the order's total; while the gateway is unavailable
 *   the step is deferred (PaymentError 'gateway_unavailable') until
 *   PAYMENT_MAX_WAIT_MS from its first attempt, then it is 'failed'. The saga
 *   records the outcome (SagaService.authorize).
 * - capture / void: wait for the gateway however long it is unavailable
 *   (money must add up: neither is ever given up). A void for an order whose
 *   authorization id was never learned finds it through the idempotency key.
 */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger('Payments');

  constructor(
    private readonly uow: UnitOfWork,
    private readonly orders: OrderStore,
    private readonly gateway: GatewayClient,
    private readonly cfg: OrderProcessingEnv,
  ) {}

  /**
   * `firstAttemptAt`: when this step was first tried; the wait for an
   * unavailable gateway is measured from it. The caller has marked the
   * attempt on the order (OrderStore.beforeGatewayCall).
   */
  async authorizeAtGateway(order: Order & { totals: NonNullable<Order['totals']> }, firstAttemptAt: Date): Promise<AuthorizationOutcome> {
    try {
      return await this.gateway.authorize({
        orderId: order.id, amountCents: order.totals.totalCents, currency: order.totals.currency, token: order.paymentToken,
      });
    } catch (e) {
      if (!(e instanceof PaymentError)) throw e;
      const unavailable = e.code === 'gateway_unavailable';
      if (unavailable && Date.now() - firstAttemptAt.getTime() < this.cfg.PAYMENT_MAX_WAIT_MS) throw e; // deferred: waits in delayed retry
      this.logger.error(`order ${order.id}: ${unavailable ? `gateway still unavailable after ${this.cfg.PAYMENT_MAX_WAIT_MS} ms` : 'unusable gateway answer'} (${e.message}); failing the order`);
      return { outcome: 'failed', reason: unavailable ? 'payment_unavailable' : 'payment_error' };
    }
  }

  async capture(env: Envelope<'payment.capture.v1'>): Promise<void> {
    const { seen, order } = await this.orders.beforeGatewayCall(env.payload.orderId, this.uow.seenSql(env.id));
    if (seen) return;
    if (!order?.authorizationId) this.logger.warn(`order ${env.payload.orderId}: no authorization to capture`);
    else await this.gateway.capture(order.id, order.authorizationId);
    await this.uow.handleOnce(env, async (tx) => {
      if (order?.authorizationId) await this.orders.markSettled(tx.manager, order.id, 'capture');
    });
  }

  async void(env: Envelope<'payment.void.v1'>): Promise<void> {
    const { seen, order } = await this.orders.beforeGatewayCall(env.payload.orderId, this.uow.seenSql(env.id));
    if (seen) return;
    const authorizationId = order?.authorizationId ?? (order ? await this.findUnanswered(order) : undefined);
    if (authorizationId) await this.gateway.void(env.payload.orderId, authorizationId);
    await this.uow.handleOnce(env, async (tx) => {
      if (authorizationId) await this.orders.markSettled(tx.manager, env.payload.orderId, 'void');
    });
  }

  /**
   * An authorization the order never learned the id of (every answer lost to
   * a timeout): found through the gateway idempotency key. While the last
   * attempt could still be answered (PAYMENT_LATE_ANSWER_MS), an empty lookup
   * proves nothing yet: the void waits and looks again.
   */
  private async findUnanswered(order: Order): Promise<string | undefined> {
    if (!order.authorizeRequestedAt) return undefined;
    const found = await this.gateway.findAuthorization(order.id);
    if (found) {
      this.logger.warn(`order ${order.id}: found authorization ${found.id} (${found.status}) whose answer never arrived; voiding it`);
      return found.status === 'authorized' ? found.id : undefined;
    }
    const last = order.authorizeAttemptedAt?.getTime() ?? order.authorizeRequestedAt.getTime();
    if (Date.now() - last < this.cfg.PAYMENT_LATE_ANSWER_MS) {
      throw new PaymentError('authorization_unsettled', `order ${order.id}: no authorization yet, but the last attempt may still be answered`);
    }
    return undefined;
  }
}
