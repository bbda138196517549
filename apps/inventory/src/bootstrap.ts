import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startService } from '@orders/platform';
import { AppModule } from './app.module';
import { InventoryEnv, inventoryService } from './config';

/** Migrates, builds and starts the service; used by main.ts and by the integration tests. */
export function bootstrap(cfg: InventoryEnv): Promise<NestFastifyApplication> {
  return startService(AppModule.register(cfg), cfg, inventoryService(cfg));
}
