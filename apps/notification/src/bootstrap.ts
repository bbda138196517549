import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { migrateService } from '@orders/persistence';
import { createHttpApp, startConsumers } from '@orders/platform';
import { AppModule } from './app.module';
import { NotificationEnv } from './config';
import { migrations } from './migrations';

/** Migrates, builds and starts the service; used by main.ts and by the integration tests. */
export async function bootstrap(cfg: NotificationEnv): Promise<NestFastifyApplication> {
  await migrateService({ url: cfg.DATABASE_URL, schema: cfg.DB_SCHEMA, migrations });
  const app = await createHttpApp(AppModule.register(cfg), { serviceName: 'notification', logLevel: cfg.LOG_LEVEL });
  await startConsumers(app, {
    prefetch: { 'notification.email': cfg.CONSUMER_CONCURRENCY, 'notification.webhooks': cfg.CONSUMER_CONCURRENCY },
    defaultPrefetch: cfg.CONSUMER_CONCURRENCY,
    retryDelaysMs: cfg.retryDelaysMs,
    maxBatch: cfg.BATCH_MAX_MESSAGES,
  });
  await app.listen(cfg.PORT, cfg.HOST);
  return app;
}
