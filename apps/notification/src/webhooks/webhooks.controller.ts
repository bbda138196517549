import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiKeyGuard, TenantRequest } from './api-key.guard';
import { CreateWebhookBody, DeliveriesQuery, DeliveryParams, DeliveryView, WebhookParams, WebhookView } from './webhook.dto';
import { WebhooksService } from './webhooks.service';

const tenant = (req: TenantRequest) => req.tenantId as string;

/** Tenants' webhook endpoints (storefront API key); one tenant never sees another's. */
@Controller('webhooks')
@UseGuards(ApiKeyGuard)
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /** 201 with the signing secret: the only time it is shown. */
  @Post()
  register(@Req() req: TenantRequest, @Body() body: CreateWebhookBody): Promise<WebhookView & { secret: string }> {
    return this.webhooks.register(tenant(req), body);
  }

  @Get()
  list(@Req() req: TenantRequest): Promise<{ items: WebhookView[] }> {
    return this.webhooks.list(tenant(req));
  }

  @Get(':id')
  get(@Req() req: TenantRequest, @Param() { id }: WebhookParams): Promise<WebhookView> {
    return this.webhooks.get(tenant(req), id);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Req() req: TenantRequest, @Param() { id }: WebhookParams): Promise<void> {
    return this.webhooks.remove(tenant(req), id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  rotate(@Req() req: TenantRequest, @Param() { id }: WebhookParams): Promise<{ secret: string; previousSecretValidUntil: string }> {
    return this.webhooks.rotateSecret(tenant(req), id);
  }

  @Post(':id/enable')
  @HttpCode(200)
  enable(@Req() req: TenantRequest, @Param() { id }: WebhookParams): Promise<WebhookView> {
    return this.webhooks.enable(tenant(req), id);
  }

  @Get(':id/deliveries')
  deliveries(@Req() req: TenantRequest, @Param() { id }: WebhookParams, @Query() q: DeliveriesQuery): Promise<{ items: DeliveryView[] }> {
    return this.webhooks.deliveries(tenant(req), id, q.limit);
  }

  /** 202: the delivery is attempted again at once, with the same webhook-id. */
  @Post(':id/deliveries/:deliveryId/resend')
  @HttpCode(202)
  resend(@Req() req: TenantRequest, @Param() p: DeliveryParams): Promise<DeliveryView> {
    return this.webhooks.resend(tenant(req), p.id, p.deliveryId);
  }
}
