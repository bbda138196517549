import { Injectable, Logger } from '@nestjs/common';
import { Envelope } from '@orders/contracts';
import { UnitOfWork } from '@orders/messaging';
import { OrderStore } from '../orders/order-store';
import { AuthorizationOutcome, SagaService } from '../orders/saga.service';
import { GatewayClient } from './gateway-client';
import { PaymentError } from './payment.error';

/**
 * The payment steps. The gateway call happens outside any database
 * transaction (after a cheap inbox check); its answer is then recorded once
 * with handleOnce. The gateway's idempotency key makes a repeated call safe.
 */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger('Payments');

  constructor(private readonly uow: UnitOfWork, private readonly orders: OrderStore, private readonly saga: SagaService, private readonly gateway: GatewayClient) {}

  /** `lastAttempt`: the transport will not retry this message again, so an unavailable gateway fails the order. */
  async authorize(env: Envelope<'payment.authorize.v1'>, lastAttempt: boolean): Promise<void> {
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
        if (e.disposition === 'retry' && !lastAttempt) throw e; // the transport's delayed retry takes over
        this.logger.error(`order ${order.id}: ${e.disposition === 'retry' ? 'gateway still unavailable on the last attempt' : 'unusable gateway answer'} (${e.message}); failing the order`);
        result = { outcome: 'failed', reason: e.disposition === 'retry' ? 'payment_unavailable' : 'payment_error' };
      }
    } else {
      this.logger.log(`order ${env.payload.orderId}: nothing to authorize (${order ? order.status : 'unknown order'})`);
    }
    await this.uow.handleOnce(env, async (tx) => {
      if (result) await this.saga.authorizationResult(tx, env.payload.orderId, result);
    });
  }

  async capture(env: Envelope<'payment.capture.v1'>): Promise<void> {
    await this.settle(env, 'capture');
  }

  async void(env: Envelope<'payment.void.v1'>): Promise<void> {
    await this.settle(env, 'void');
  }

  private async settle(env: Envelope<'payment.capture.v1' | 'payment.void.v1'>, action: 'capture' | 'void'): Promise<void> {
    if (await this.uow.seen(env.id)) return;
    const order = await this.orders.find(env.payload.orderId);
    if (!order?.authorizationId) {
      this.logger.warn(`order ${env.payload.orderId}: no authorization to ${action}`);
    } else if (action === 'capture') {
      await this.gateway.capture(order.id, order.authorizationId);
    } else {
      await this.gateway.void(order.id, order.authorizationId);
    }
    await this.uow.handleOnce(env, async (tx) => {
      if (order?.authorizationId) await this.orders.markSettled(tx.manager, order.id, action);
    });
  }
}
