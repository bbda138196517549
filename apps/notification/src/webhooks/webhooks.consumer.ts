import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Envelope } from '@orders/contracts';
import { OnMessage } from '@orders/messaging';
import { WebhooksService } from './webhooks.service';

/** Its own queue, so a slow webhook never delays customer email. */
@Controller()
export class WebhooksConsumer {
  constructor(private readonly webhooks: WebhooksService) {}

  /** Every status change becomes one delivery per matching endpoint of the tenant. */
  @OnMessage('notification.webhooks', 'order.status-changed.v1', { batchable: true, together: true })
  onStatusChanged(@Payload() env: Envelope<'order.status-changed.v1'>): Promise<void> {
    return this.webhooks.onStatusChanged(env);
  }
}
