import { Injectable, Logger } from '@nestjs/common';
import { Envelope } from '@orders/contracts';
import { UnitOfWork } from '@orders/messaging';
import { OrderProcessingEnv } from '../config';
import { OrderStore } from '../orders/order-store';
import { AuthorizationOutcome, SagaService } from '../orders/saga.service';
import { GatewayClient } from './gateway-client';
import { PaymentError } from './payment.error';

/**
 * The payment steps. The gateway call happens outside any database
 * transaction (after a cheap inbox check); its answer is then recorded once
 * with handleOnce. The gateway's idempotency key makes a repeated call safe.
 * While the gateway is unavailable (breaker open, transient errors) a step
 * is deferred (PaymentError 'gateway_unavailable': delayed retry through the
 * PAYMENT_WAIT_DELAYS_MS tiers, no attempt used up) until PAYMENT_MAX_WAIT_MS
 * from its first attempt; then an authorization fails the order, a
 * capture/void is dead-lettered for an operator.
 */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger('Payments');

  constructor(
    private readonly uow: UnitOfWork,
    private readonly orders: OrderStore,
    private readonly saga: SagaService,
    private readonly gateway: GatewayClient,
    private readonly cfg: OrderProcessingEnv,
  ) {}

  /** `firstAttemptAt`: when this step was first tried; the wait for an unavailable gateway is measured from it. */
  async authorize(env: Envelope<'payment.authorize.v1'>, firstAttemptAt: Date): Promise<void> {
    if (await this.uow.seen(env.id)) return;
    const order = await this.orders.find(env.payload.orderId);
    let result: AuthorizationOutcome | undefined;
    if (order && order.status === 'PROCESSING' && !order.authorizationId && order.totals) {
      try {
        result = await this.gateway.authorize({
          orderId: order.id, amountCents: order.totals.totalCents, currency: order.totals.currency, token: order.paymentToken,
        });
      } catch (e) {
        if (!(e instanceof PaymentError)) throw e;
        const unavailable = e.code === 'gateway_unavailable';
        if (unavailable && !this.waitedEnough(firstAttemptAt)) throw e; // deferred: waits in delayed retry
        this.logger.error(`order ${order.id}: ${unavailable ? `gateway still unavailable after ${this.cfg.PAYMENT_MAX_WAIT_MS} ms` : 'unusable gateway answer'} (${e.message}); failing the order`);
        result = { outcome: 'failed', reason: unavailable ? 'payment_unavailable' : 'payment_error' };
      }
    } else {
      this.logger.log(`order ${env.payload.orderId}: nothing to authorize (${order ? order.status : 'unknown order'})`);
    }
    await this.uow.handleOnce(env, async (tx) => {
      if (result) await this.saga.authorizationResult(tx, env.payload.orderId, result);
    });
  }

  async capture(env: Envelope<'payment.capture.v1'>, firstAttemptAt: Date): Promise<void> {
    await this.settle(env, 'capture', firstAttemptAt);
  }

  async void(env: Envelope<'payment.void.v1'>, firstAttemptAt: Date): Promise<void> {
    await this.settle(env, 'void', firstAttemptAt);
  }

  private waitedEnough(firstAttemptAt: Date): boolean {
    return Date.now() - firstAttemptAt.getTime() >= this.cfg.PAYMENT_MAX_WAIT_MS;
  }

  private async settle(env: Envelope<'payment.capture.v1' | 'payment.void.v1'>, action: 'capture' | 'void', firstAttemptAt: Date): Promise<void> {
    if (await this.uow.seen(env.id)) return;
    const order = await this.orders.find(env.payload.orderId);
    if (!order?.authorizationId) {
      this.logger.warn(`order ${env.payload.orderId}: no authorization to ${action}`);
    } else {
      try {
        await (action === 'capture' ? this.gateway.capture(order.id, order.authorizationId) : this.gateway.void(order.id, order.authorizationId));
      } catch (e) {
        if (e instanceof PaymentError && e.code === 'gateway_unavailable' && this.waitedEnough(firstAttemptAt)) {
          throw new PaymentError('gateway_wait_exhausted', `${action} of order ${order.id}: ${e.message}, still after ${this.cfg.PAYMENT_MAX_WAIT_MS} ms`);
        }
        throw e;
      }
    }
    await this.uow.handleOnce(env, async (tx) => {
      if (order?.authorizationId) await this.orders.markSettled(tx.manager, order.id, action);
    });
  }
}
