import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Envelope } from '@orders/contracts';
import { OnMessage } from '@orders/messaging';
import { EmailService } from './email.service';

@Controller()
export class EmailController {
  constructor(private readonly emails: EmailService) {}

  /** Final statuses become one customer email each; other statuses are acknowledged without one. */
  @OnMessage('notification.email', 'order.status-changed.v1')
  onStatusChanged(@Payload() env: Envelope<'order.status-changed.v1'>): Promise<void> {
    return this.emails.onStatusChanged(env);
  }
}
