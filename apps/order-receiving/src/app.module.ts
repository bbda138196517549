import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MessagingModule } from '@orders/messaging';
import { serviceDataSourceOptions } from '@orders/persistence';
import { HealthModule, MetricsModule } from '@orders/platform';
import { OrderReceivingEnv } from './config';
import { migrations } from './migrations';
import { OrdersModule } from './orders/orders.module';

@Module({})
export class AppModule {
  static register(cfg: OrderReceivingEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot({
          ...serviceDataSourceOptions({ url: cfg.DATABASE_URL, schema: cfg.DB_SCHEMA, migrations, poolSize: cfg.DB_POOL_SIZE, applicationName: 'order-receiving' }),
          retryAttempts: 1000,
          retryDelay: 1000,
        }),
        MessagingModule.forRoot({
          rabbitmqUrl: cfg.RABBITMQ_URL,
          queueType: cfg.QUEUE_TYPE,
          prefix: cfg.MQ_PREFIX,
          serviceName: 'order-receiving',
          databaseUrl: cfg.DATABASE_URL,
          schema: cfg.DB_SCHEMA,
          ownQueues: ['order-receiving.status'],
          retryDelaysMs: cfg.retryDelaysMs,
        }),
        HealthModule.forRoot({ database: true, broker: true }),
        MetricsModule,
        OrdersModule.register(cfg),
      ],
      providers: [{ provide: OrderReceivingEnv, useValue: cfg }],
    };
  }
}
