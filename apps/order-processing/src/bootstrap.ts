import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { migrateService } from '@orders/persistence';
import { createHttpApp, startConsumers } from '@orders/platform';
import { AppModule } from './app.module';
import { OrderProcessingEnv } from './config';
import { migrations } from './migrations';

/** Migrates, builds and starts the service; used by main.ts and by the integration tests. */
export async function bootstrap(cfg: OrderProcessingEnv): Promise<NestFastifyApplication> {
  await migrateService({ url: cfg.DATABASE_URL, schema: cfg.DB_SCHEMA, migrations });
  const app = await createHttpApp(AppModule.register(cfg), { serviceName: 'order-processing', logLevel: cfg.LOG_LEVEL });
  await startConsumers(app, {
    prefetch: { 'order-processing.placed': cfg.PLACED_CONCURRENCY, 'order-processing.saga': cfg.SAGA_CONCURRENCY, 'order-processing.payments': cfg.PAYMENT_CONCURRENCY },
    defaultPrefetch: cfg.SAGA_CONCURRENCY,
    retryDelaysMs: cfg.retryDelaysMs,
    maxBatch: cfg.BATCH_MAX_MESSAGES,
  });
  await app.listen(cfg.PORT, cfg.HOST);
  return app;
}
