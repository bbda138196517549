import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Envelope } from '@orders/contracts';
import { OnMessage } from '@orders/messaging';
import { OrdersService } from './orders.service';

/** Keeps the read model current from order-processing's status events. */
@Controller()
export class StatusConsumer {
  constructor(private readonly orders: OrdersService) {}

  @OnMessage('order-receiving.status', 'order.status-changed.v1', { batchable: true })
  async statusChanged(@Payload() env: Envelope<'order.status-changed.v1'>): Promise<void> {
    await this.orders.onStatusChanged(env);
  }
}
