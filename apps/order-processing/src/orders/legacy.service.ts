import { Injectable } from '@nestjs/common';
import { Envelope } from '@orders/contracts';
import { MessageContext, Tx, UnitOfWork } from '@orders/messaging';
import { PaymentsService } from '../payments/payments.service';
import { SettlementJobs } from '../payments/settlements';
import { OrderLifecycle } from './order-lifecycle';
import { Order, OrderStore } from './order-store';
import { SagaService } from './saga.service';

/**
 * What the previous version left in its queues, finished the way it began:
 * an admission request, the stock commit's answers, and the payment steps
 * that used to cross the broker (authorize, capture, void). Nothing
 * publishes these any more; they are drained after an upgrade, so no order
 * in flight at that moment is lost.
 */
@Injectable()
export class LegacySteps {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly orders: OrderStore,
    private readonly lifecycle: OrderLifecycle,
    private readonly saga: SagaService,
    private readonly payments: PaymentsService,
    private readonly settlements: SettlementJobs,
  ) {}

  async admitWaiting(env: Envelope<'order.admit-waiting.v1'>): Promise<void> {
    await this.uow.handleOnce(env, async (tx) => void (await this.lifecycle.admitWaiting(tx, env.payload.tenantId)));
  }

  /** The stock was committed for an authorized order: it is confirmed, and captured. */
  async committed(env: Envelope<'inventory.committed.v1'>): Promise<void> {
    await this.onOrder(env, async (tx, order) => {
      if (order.status !== 'PROCESSING') return this.lifecycle.late(order, env.name);
      if (!(await this.lifecycle.finish(tx, order, 'CONFIRMED'))) return;
      await this.settlements.schedule(tx, { orderId: order.id, tenantId: order.tenantId, action: 'capture', authorizationId: order.authorizationId });
    });
  }

  /** The stock could not be committed: the order fails and its authorization is voided. */
  async commitFailed(env: Envelope<'inventory.commit-failed.v1'>): Promise<void> {
    await this.onOrder(env, async (tx, order) => {
      if (order.status !== 'PROCESSING') return this.lifecycle.late(order, env.name);
      this.orders.setReserved(tx, order, false);
      await this.lifecycle.finish(tx, order, 'FAILED', env.payload.reason, { stock: false });
    });
  }

  /** A priced order waiting for its authorization: authorized now, then confirmed as the new version confirms. */
  async authorize(env: Envelope<'payment.authorize.v1'>, ctx: MessageContext): Promise<void> {
    const { seen, order: before } = await this.orders.beforeGatewayCall(env.payload.orderId, this.uow.seenKey(env.id));
    if (seen) return;
    const outcome = before?.status === 'PROCESSING' && before.totals && !before.authorizationId
      ? await this.payments.authorize({ orderId: before.id, amountCents: before.totals.totalCents, currency: before.totals.currency, token: before.paymentToken }, ctx.firstAttemptAt)
      : undefined;
    await this.onOrder(env, async (tx, order) => {
      if (order.status !== 'PROCESSING' || order.authorizationId || !outcome) {
        if (outcome?.outcome === 'authorized' && order.status !== 'CONFIRMED') {
          await this.settlements.schedule(tx, { orderId: order.id, tenantId: order.tenantId, action: 'void', authorizationId: outcome.authorizationId });
        }
        return this.lifecycle.late(order, env.name);
      }
      if (outcome.outcome === 'authorized') {
        await tx.query('UPDATE orders SET authorization_id = $2, updated_at = now() WHERE id = $1', [order.id, outcome.authorizationId]);
        order.authorizationId = outcome.authorizationId;
        return this.saga.confirm(tx, order);
      }
      if (outcome.outcome === 'failed') return void (await this.lifecycle.finish(tx, order, 'FAILED', outcome.reason, { authorization: 'maybe' }));
      await this.lifecycle.finish(tx, order, 'REJECTED', outcome.outcome === 'declined' ? 'payment_declined' : 'payment_invalid');
    });
  }

  /** A capture or void the previous version asked for: the same job the new version writes. */
  async settle(env: Envelope<'payment.capture.v1' | 'payment.void.v1'>, action: 'capture' | 'void'): Promise<void> {
    await this.uow.handleOnce(env, async (tx, locked) => {
      const order = this.orders.lockedIfKnown(locked);
      if (!order || (action === 'capture' && !order.authorizationId)) return;
      await this.settlements.schedule(tx, { orderId: order.id, tenantId: order.tenantId, action, authorizationId: order.authorizationId });
    }, this.orders.lockStatement(env.payload.orderId));
  }

  private async onOrder(env: Envelope<'inventory.committed.v1' | 'inventory.commit-failed.v1' | 'payment.authorize.v1'>, fn: (tx: Tx, order: Order) => Promise<void>): Promise<void> {
    const { orderId } = env.payload;
    await this.uow.handleOnce(env, (tx, locked) => fn(tx, this.orders.locked(locked, orderId)), this.orders.lockStatement(orderId));
  }
}
