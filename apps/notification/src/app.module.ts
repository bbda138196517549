import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MessagingModule } from '@orders/messaging';
import { serviceDataSourceOptions } from '@orders/persistence';
import { HealthModule, MetricsModule } from '@orders/platform';
import { NotificationEnv } from './config';
import { EmailModule } from './email/email.module';
import { migrations } from './migrations';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  static register(cfg: NotificationEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot({
          ...serviceDataSourceOptions({ url: cfg.DATABASE_URL, schema: cfg.DB_SCHEMA, migrations, poolSize: cfg.DB_POOL_SIZE, applicationName: 'notification' }),
          retryAttempts: 1000,
          retryDelay: 1000,
        }),
        MessagingModule.forRoot({
          rabbitmqUrl: cfg.RABBITMQ_URL,
          queueType: cfg.QUEUE_TYPE,
          prefix: cfg.MQ_PREFIX,
          serviceName: 'notification',
          databaseUrl: cfg.DATABASE_URL,
          schema: cfg.DB_SCHEMA,
          ownQueues: ['notification.email', 'notification.webhooks'],
          retryDelaysMs: cfg.retryDelaysMs,
          // nothing is published (webhook deliveries are rows, sent by the dispatcher): no outbox relay
          relay: false,
        }),
        HealthModule.forRoot({ database: true, broker: true }),
        MetricsModule,
        EmailModule.register({ host: cfg.SMTP_HOST, port: cfg.SMTP_PORT, timeoutMs: cfg.SMTP_TIMEOUT_MS, from: cfg.MAIL_FROM }),
        WebhooksModule,
      ],
      providers: [{ provide: NotificationEnv, useValue: cfg }],
      exports: [NotificationEnv],
      global: true,
    };
  }
}
