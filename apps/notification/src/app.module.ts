import { DynamicModule, Module } from '@nestjs/common';
import { serviceModules } from '@orders/platform';
import { NotificationEnv, notificationService } from './config';
import { EmailModule } from './email/email.module';
import { RetentionModule } from './retention/retention.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  static register(cfg: NotificationEnv): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        ...serviceModules(cfg, notificationService(cfg)),
        EmailModule.register({ host: cfg.SMTP_HOST, port: cfg.SMTP_PORT, timeoutMs: cfg.SMTP_TIMEOUT_MS, from: cfg.MAIL_FROM }),
        WebhooksModule,
        RetentionModule,
      ],
      providers: [{ provide: NotificationEnv, useValue: cfg }],
      exports: [NotificationEnv],
    };
  }
}
