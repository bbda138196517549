import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Envelope } from '@orders/contracts';
import { OnMessage } from '@orders/messaging';
import { ReadModelService } from './read-model.service';

/**
 * Keeps the read model current from order-processing's status events, in two
 * lanes consumed side by side (the lane an order's placement came in): a
 * flood's statuses never queue ahead of another tenant's.
 */
@Controller()
export class StatusConsumer {
  constructor(private readonly readModel: ReadModelService) {}

  @OnMessage('order-receiving.status', 'order.status-changed.v1', { batchable: true, together: true })
  async statusChanged(@Payload() env: Envelope<'order.status-changed.v1'>): Promise<void> {
    await this.readModel.onStatusChanged(env);
  }

  @OnMessage('order-receiving.status-bulk', 'order.status-changed.v1', { batchable: true, together: true })
  async bulkStatusChanged(@Payload() env: Envelope<'order.status-changed.v1'>): Promise<void> {
    await this.readModel.onStatusChanged(env);
  }
}
