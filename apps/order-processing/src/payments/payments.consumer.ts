import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Envelope } from '@orders/contracts';
import { AmqpMessageContext, OnMessage } from '@orders/messaging';
import { PaymentsService } from './payments.service';

@Controller()
export class PaymentsConsumer {
  constructor(private readonly payments: PaymentsService) {}

  @OnMessage('order-processing.payments', 'payment.authorize.v1')
  authorize(@Payload() env: Envelope<'payment.authorize.v1'>, @Ctx() ctx: AmqpMessageContext) {
    return this.payments.authorize(env, ctx.firstAttemptAt);
  }

  @OnMessage('order-processing.payments', 'payment.capture.v1')
  capture(@Payload() env: Envelope<'payment.capture.v1'>, @Ctx() ctx: AmqpMessageContext) {
    return this.payments.capture(env, ctx.firstAttemptAt);
  }

  @OnMessage('order-processing.payments', 'payment.void.v1')
  void(@Payload() env: Envelope<'payment.void.v1'>, @Ctx() ctx: AmqpMessageContext) {
    return this.payments.void(env, ctx.firstAttemptAt);
  }
}
