import { DynamicModule, Module } from '@nestjs/common';
import { EmailController } from './email.controller';
import { EmailService } from './email.service';
import { MESSAGE_TRANSPORT, SmtpOptions, SmtpTransport } from './message-transport';

@Module({})
export class EmailModule {
  static register(smtp: SmtpOptions): DynamicModule {
    return {
      module: EmailModule,
      controllers: [EmailController],
      providers: [EmailService, { provide: MESSAGE_TRANSPORT, useFactory: () => new SmtpTransport(smtp) }],
    };
  }
}
