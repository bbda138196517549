import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Envelope } from '@orders/contracts';
import { AmqpMessageContext, OnMessage } from '@orders/messaging';
import { OrderProcessingEnv } from '../config';
import { PaymentsService } from './payments.service';

@Controller()
export class PaymentsConsumer {
  constructor(private readonly payments: PaymentsService, private readonly cfg: OrderProcessingEnv) {}

  @OnMessage('order-processing.payments', 'payment.authorize.v1')
  authorize(@Payload() env: Envelope<'payment.authorize.v1'>, @Ctx() ctx: AmqpMessageContext) {
    return this.payments.authorize(env, ctx.attempt >= this.cfg.retryDelaysMs.length + 1);
  }

  @OnMessage('order-processing.payments', 'payment.capture.v1')
  capture(@Payload() env: Envelope<'payment.capture.v1'>) {
    return this.payments.capture(env);
  }

  @OnMessage('order-processing.payments', 'payment.void.v1')
  void(@Payload() env: Envelope<'payment.void.v1'>) {
    return this.payments.void(env);
  }
}
