import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp } from '@orders/platform';
import { AppModule } from './app.module';
import { PaymentSimEnv } from './config';

/** Builds and starts the simulator; used by main.ts and by the integration tests. */
export async function bootstrap(cfg: PaymentSimEnv): Promise<NestFastifyApplication> {
  const app = await createHttpApp(AppModule.register(cfg), { serviceName: 'payment-gateway-sim', logLevel: cfg.LOG_LEVEL });
  await app.listen(cfg.PORT, cfg.HOST);
  return app;
}
