import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Envelope } from '@orders/contracts';
import { MessageContext, OnMessage } from '@orders/messaging';
import { LegacySteps } from './legacy.service';

/** Messages only the previous version published, drained after an upgrade (LegacySteps). */
@Controller()
export class LegacyConsumer {
  constructor(private readonly legacy: LegacySteps) {}

  @OnMessage('order-processing.placed', 'order.admit-waiting.v1', { batchable: true })
  admitWaiting(@Payload() env: Envelope<'order.admit-waiting.v1'>) {
    return this.legacy.admitWaiting(env);
  }

  @OnMessage('order-processing.saga', 'inventory.committed.v1')
  committed(@Payload() env: Envelope<'inventory.committed.v1'>) {
    return this.legacy.committed(env);
  }

  @OnMessage('order-processing.saga', 'inventory.commit-failed.v1')
  commitFailed(@Payload() env: Envelope<'inventory.commit-failed.v1'>) {
    return this.legacy.commitFailed(env);
  }

  @OnMessage('order-processing.payments', 'payment.authorize.v1')
  authorize(@Payload() env: Envelope<'payment.authorize.v1'>, @Ctx() ctx: MessageContext) {
    return this.legacy.authorize(env, ctx);
  }

  @OnMessage('order-processing.payments', 'payment.capture.v1')
  capture(@Payload() env: Envelope<'payment.capture.v1'>) {
    return this.legacy.settle(env, 'capture');
  }

  @OnMessage('order-processing.payments', 'payment.void.v1')
  void(@Payload() env: Envelope<'payment.void.v1'>) {
    return this.legacy.settle(env, 'void');
  }
}
