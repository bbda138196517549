import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MessagingModule } from '@orders/messaging';
import { serviceDataSourceOptions } from '@orders/persistence';
import { HealthModule, MetricsModule } from '@orders/platform';
import { OrderProcessingEnv } from './config';
import { DeadLettersModule } from './dead-letters/dead-letters.module';
import { migrations } from './migrations';
import { OrdersModule } from './orders/orders.module';
import { PaymentsModule } from './payments/payments.module';
import { PromotionsModule } from './promotions/promotions.module';

@Module({})
export class AppModule {
  static register(cfg: OrderProcessingEnv): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        TypeOrmModule.forRoot({
          ...serviceDataSourceOptions({ url: cfg.DATABASE_URL, schema: cfg.DB_SCHEMA, migrations, poolSize: cfg.DB_POOL_SIZE, applicationName: 'order-processing' }),
          retryAttempts: 1000,
          retryDelay: 1000,
        }),
        MessagingModule.forRoot({
          rabbitmqUrl: cfg.RABBITMQ_URL,
          queueType: cfg.QUEUE_TYPE,
          prefix: cfg.MQ_PREFIX,
          serviceName: 'order-processing',
          databaseUrl: cfg.DATABASE_URL,
          schema: cfg.DB_SCHEMA,
          ownQueues: ['order-processing.placed', 'order-processing.saga', 'order-processing.payments'],
          retryDelaysMs: cfg.retryDelaysMs,
          deferDelaysMs: cfg.paymentWaitDelaysMs,
        }),
        HealthModule.forRoot({ database: true, broker: true }),
        MetricsModule,
        PromotionsModule,
        OrdersModule,
        PaymentsModule,
        DeadLettersModule,
      ],
      providers: [{ provide: OrderProcessingEnv, useValue: cfg }],
      exports: [OrderProcessingEnv],
    };
  }
}
