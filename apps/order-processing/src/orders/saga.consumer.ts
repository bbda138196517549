import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Envelope } from '@orders/contracts';
import { AmqpMessageContext, OnMessage } from '@orders/messaging';
import { SagaService } from './saga.service';

/** The saga's inbound messages; each handler calls one step. */
@Controller()
export class SagaConsumer {
  constructor(private readonly saga: SagaService) {}

  @OnMessage('order-processing.placed', 'order.placed.v1', { batchable: true })
  placed(@Payload() env: Envelope<'order.placed.v1'>) {
    return this.saga.placed(env);
  }

  @OnMessage('order-processing.saga', 'inventory.reservation-rejected.v1', { batchable: true })
  reservationRejected(@Payload() env: Envelope<'inventory.reservation-rejected.v1'>) {
    return this.saga.reservationRejected(env);
  }

  @OnMessage('order-processing.saga', 'inventory.reserved.v1', { batchable: true })
  reserved(@Payload() env: Envelope<'inventory.reserved.v1'>) {
    return this.saga.reserved(env);
  }

  @OnMessage('order-processing.saga', 'inventory.committed.v1', { batchable: true })
  committed(@Payload() env: Envelope<'inventory.committed.v1'>) {
    return this.saga.committed(env);
  }

  @OnMessage('order-processing.saga', 'inventory.commit-failed.v1', { batchable: true })
  commitFailed(@Payload() env: Envelope<'inventory.commit-failed.v1'>) {
    return this.saga.commitFailed(env);
  }

  @OnMessage('order-processing.payments', 'payment.authorize.v1')
  authorize(@Payload() env: Envelope<'payment.authorize.v1'>, @Ctx() ctx: AmqpMessageContext) {
    return this.saga.authorize(env, ctx.firstAttemptAt);
  }

  @OnMessage('order-processing.saga', 'message.dead-lettered.v1', { batchable: true })
  deadLettered(@Payload() env: Envelope<'message.dead-lettered.v1'>) {
    return this.saga.deadLettered(env);
  }

  @OnMessage('order-processing.placed', 'order.admit-waiting.v1', { afterEarlier: true, batchable: true })
  admitWaiting(@Payload() env: Envelope<'order.admit-waiting.v1'>) {
    return this.saga.admitWaiting(env);
  }

  @OnMessage('order-processing.placed', 'order.cancel-requested.v1', { batchable: true })
  cancelRequested(@Payload() env: Envelope<'order.cancel-requested.v1'>) {
    return this.saga.cancelRequested(env);
  }
}
