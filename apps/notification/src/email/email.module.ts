import { DynamicModule, Module } from '@nestjs/common';
import { EmailConsumer } from './email.consumer';
import { EmailService } from './email.service';
import { MESSAGE_TRANSPORT, SmtpOptions, SmtpTransport } from './message-transport';

@Module({})
export class EmailModule {
  static register(smtp: SmtpOptions): DynamicModule {
    return {
      module: EmailModule,
      controllers: [EmailConsumer],
      providers: [EmailService, { provide: MESSAGE_TRANSPORT, useFactory: () => new SmtpTransport(smtp) }],
    };
  }
}
