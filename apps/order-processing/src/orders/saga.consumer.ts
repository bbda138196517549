import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { CancelVerdict, Envelope } from '@orders/contracts';
import { MessageContext, OnMessage } from '@orders/messaging';
import { SagaService } from './saga.service';

/** The saga's inbound messages; each handler calls one step. */
@Controller()
export class SagaConsumer {
  constructor(private readonly saga: SagaService) {}

  @OnMessage('order-processing.placed', 'order.placed.v1', { batchable: true })
  placed(@Payload() env: Envelope<'order.placed.v1'>) {
    return this.saga.placed(env);
  }

  /** The lane of tenants placing far more than their share: the same step, consumed beside the quiet lane. */
  @OnMessage('order-processing.placed-bulk', 'order.placed.v1', { batchable: true })
  placedInBulk(@Payload() env: Envelope<'order.placed.v1'>) {
    return this.saga.placed(env);
  }

  /** Answered with the decision (the requester waits for it). */
  @OnMessage('order-processing.cancels', 'order.cancel-requested.v1')
  cancelRequested(@Payload() env: Envelope<'order.cancel-requested.v1'>): Promise<CancelVerdict> {
    return this.saga.cancelRequested(env);
  }

  @OnMessage('order-processing.saga', 'inventory.reservation-rejected.v1')
  reservationRejected(@Payload() env: Envelope<'inventory.reservation-rejected.v1'>) {
    return this.saga.reservationRejected(env);
  }

  @OnMessage('order-processing.saga', 'inventory.reserved.v1')
  reserved(@Payload() env: Envelope<'inventory.reserved.v1'>, @Ctx() ctx: MessageContext) {
    return this.saga.reserved(env, ctx);
  }

  @OnMessage('order-processing.saga', 'message.dead-lettered.v1')
  deadLettered(@Payload() env: Envelope<'message.dead-lettered.v1'>) {
    return this.saga.deadLettered(env);
  }
}
