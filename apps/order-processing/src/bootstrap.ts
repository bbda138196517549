import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startService } from '@orders/platform';
import { AppModule } from './app.module';
import { OrderProcessingEnv, orderProcessingService } from './config';

/** Migrates, builds and starts the service; used by main.ts and by the integration tests. */
export function bootstrap(cfg: OrderProcessingEnv): Promise<NestFastifyApplication> {
  return startService(AppModule.register(cfg), cfg, orderProcessingService(cfg));
}
