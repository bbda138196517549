import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { migrateService } from '@orders/persistence';
import { createHttpApp, startConsumers } from '@orders/platform';
import { AppModule } from './app.module';
import { OrderReceivingEnv } from './config';
import { migrations } from './migrations';
import { installCors, parseCorsOrigins } from './cors/cors';
import { setupOpenApi } from './openapi';

/** Migrates, builds and starts the service; used by main.ts and by the integration tests. */
export async function bootstrap(cfg: OrderReceivingEnv): Promise<NestFastifyApplication> {
  await migrateService({ url: cfg.DATABASE_URL, schema: cfg.DB_SCHEMA, migrations });
  const app = await createHttpApp(AppModule.register(cfg), { serviceName: 'order-receiving', logLevel: cfg.LOG_LEVEL, bodyLimit: cfg.BODY_LIMIT_BYTES, maxHeaderSize: 16 * 1024 });
  installCors(app.getHttpAdapter().getInstance(), parseCorsOrigins(cfg.CORS_ORIGINS));
  setupOpenApi(app);
  await startConsumers(app, {
    prefetch: { 'order-receiving.status': cfg.CONSUMER_CONCURRENCY },
    defaultPrefetch: cfg.CONSUMER_CONCURRENCY,
    retryDelaysMs: cfg.retryDelaysMs,
    maxBatch: cfg.BATCH_MAX_MESSAGES,
  });
  await app.init();
  // JSON only: any other body type is 415 (Fastify and Nest would otherwise parse text and forms).
  app.getHttpAdapter().getInstance().removeContentTypeParser(['text/plain', 'application/x-www-form-urlencoded']);
  await app.listen(cfg.PORT, cfg.HOST);
  return app;
}
