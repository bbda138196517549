import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MessagingModule } from '@orders/messaging';
import { serviceDataSourceOptions } from '@orders/persistence';
import { HealthModule, MetricsModule } from '@orders/platform';
import { InventoryEnv } from './config';
import { migrations } from './migrations';
import { ProductsModule } from './products/products.module';
import { ReservationsModule } from './reservations/reservations.module';

@Module({})
export class AppModule {
  static register(cfg: InventoryEnv): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        TypeOrmModule.forRoot({
          ...serviceDataSourceOptions({ url: cfg.DATABASE_URL, schema: cfg.DB_SCHEMA, migrations, poolSize: cfg.DB_POOL_SIZE, applicationName: 'inventory' }),
          retryAttempts: 1000,
          retryDelay: 1000,
        }),
        MessagingModule.forRoot({
          rabbitmqUrl: cfg.RABBITMQ_URL,
          queueType: cfg.QUEUE_TYPE,
          prefix: cfg.MQ_PREFIX,
          serviceName: 'inventory',
          databaseUrl: cfg.DATABASE_URL,
          schema: cfg.DB_SCHEMA,
          ownQueues: ['inventory.commands'],
          retryDelaysMs: cfg.retryDelaysMs,
        }),
        HealthModule.forRoot({ database: true, broker: true }),
        MetricsModule,
        ProductsModule,
        ReservationsModule,
      ],
      providers: [{ provide: InventoryEnv, useValue: cfg }],
      exports: [InventoryEnv],
    };
  }
}
