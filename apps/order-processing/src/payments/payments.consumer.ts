import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Envelope } from '@orders/contracts';
import { OnMessage } from '@orders/messaging';
import { PaymentsService } from './payments.service';

/** Settling authorizations (the authorize step belongs to the saga: SagaConsumer). */
@Controller()
export class PaymentsConsumer {
  constructor(private readonly payments: PaymentsService) {}

  @OnMessage('order-processing.payments', 'payment.capture.v1')
  capture(@Payload() env: Envelope<'payment.capture.v1'>) {
    return this.payments.capture(env);
  }

  @OnMessage('order-processing.payments', 'payment.void.v1')
  void(@Payload() env: Envelope<'payment.void.v1'>) {
    return this.payments.void(env);
  }
}
