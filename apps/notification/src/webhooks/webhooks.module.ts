import { Module } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard';
import { WebhookDispatcher } from './dispatcher';
import { WebhooksConsumer } from './webhooks.consumer';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';
import { WebhookRoutes } from './webhook-routes';

@Module({
  controllers: [WebhooksController, WebhooksConsumer],
  providers: [WebhooksService, WebhookDispatcher, WebhookRoutes, ApiKeyGuard],
})
export class WebhooksModule {}
