import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startService } from '@orders/platform';
import { AppModule } from './app.module';
import { NotificationEnv, notificationService } from './config';

/** Migrates, builds and starts the service; used by main.ts and by the integration tests. */
export function bootstrap(cfg: NotificationEnv): Promise<NestFastifyApplication> {
  return startService(AppModule.register(cfg), cfg, notificationService(cfg));
}
