import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startService } from '@orders/platform';
import { AppModule } from './app.module';
import { OrderReceivingEnv, orderReceivingService } from './config';
import { installCors, parseCorsOrigins } from './cors/cors';
import { setupOpenApi } from './openapi';

/** Migrates, builds and starts the service; used by main.ts and by the integration tests. */
export function bootstrap(cfg: OrderReceivingEnv): Promise<NestFastifyApplication> {
  return startService(AppModule.register(cfg), cfg, orderReceivingService(cfg), {
    http: { bodyLimit: cfg.BODY_LIMIT_BYTES, maxHeaderSize: 16 * 1024 },
    configure: (app) => {
      installCors(app.getHttpAdapter().getInstance(), parseCorsOrigins(cfg.CORS_ORIGINS));
      setupOpenApi(app);
    },
    // JSON only: any other body type is 415 (Fastify and Nest would otherwise parse text and forms).
    initialised: (app) => app.getHttpAdapter().getInstance().removeContentTypeParser(['text/plain', 'application/x-www-form-urlencoded']),
  });
}
