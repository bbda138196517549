import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import type { Envelope } from '@orders/contracts';
import { MessageContext, OnMessage } from '@orders/messaging';
import { EmailService } from './email.service';

@Controller()
export class EmailConsumer {
  constructor(private readonly emails: EmailService) {}

  /** Each final status becomes one customer email (the queue receives only final statuses: routing by status). */
  @OnMessage('notification.email', 'order.status-changed.v1')
  onStatusChanged(@Payload() env: Envelope<'order.status-changed.v1'>, @Ctx() ctx: MessageContext): Promise<void> {
    return this.emails.onStatusChanged(env, ctx.firstAttemptAt);
  }
}
