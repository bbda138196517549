import { DynamicModule, Module } from '@nestjs/common';
import { HealthModule, MetricsModule } from '@orders/platform';
import { MailCatcherEnv } from './config';
import { MailStore } from './messages/mail-store';
import { MessagesController } from './messages/messages.controller';
import { SmtpCatcher } from './messages/smtp-catcher';

@Module({})
export class AppModule {
  static register(cfg: MailCatcherEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [HealthModule.forRoot({ database: false, broker: false }), MetricsModule],
      controllers: [MessagesController],
      providers: [
        { provide: MailCatcherEnv, useValue: cfg },
        { provide: MailStore, useFactory: () => new MailStore(cfg.MAX_MESSAGES) },
        { provide: SmtpCatcher, useFactory: (store: MailStore) => new SmtpCatcher(store, cfg.MAX_MESSAGE_BYTES), inject: [MailStore] },
      ],
    };
  }
}
