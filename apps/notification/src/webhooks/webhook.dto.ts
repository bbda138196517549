import { ORDER_STATUSES } from '@orders/contracts';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsIn, IsInt, IsOptional, IsString, IsUrl, IsUUID, Max, MaxLength, Min } from 'class-validator';

export const EVENT_FILTERS = [...ORDER_STATUSES, '*'] as const;

export class CreateWebhookBody {
  /** https (or http to an allow-listed private/loopback host); checked again against the address guard. */
  @IsString() @MaxLength(2048)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false, allow_underscores: true }, { message: 'url must be an http(s) URL' })
  url: string;

  /** Order statuses to receive, or ['*'] (the default) for all. */
  @IsOptional() @ArrayMinSize(1) @ArrayMaxSize(EVENT_FILTERS.length) @ArrayUnique()
  @IsIn(EVENT_FILTERS, { each: true, message: `each value in events must be one of ${EVENT_FILTERS.join(', ')}` })
  events?: string[];
}

export class WebhookParams {
  @IsUUID() id: string;
}

export class DeliveryParams extends WebhookParams {
  @IsUUID() deliveryId: string;
}

export class DeliveriesQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200)
  limit?: number;
}

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabledAt: string | null;
  disabledReason: string | null;
  createdAt: string;
}

export interface AttemptView {
  attempt: number;
  at: string;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseExcerpt: string | null;
  outcome: 'delivered' | 'retrying' | 'failed';
  nextRetryAt: string | null;
}

export interface DeliveryView {
  id: string;
  webhookId: string;
  eventType: 'order.status_changed';
  orderId: string;
  status: string;
  state: 'pending' | 'delivered' | 'failed';
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  finishedAt: string | null;
  attempts: AttemptView[];
}
