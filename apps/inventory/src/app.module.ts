import { DynamicModule, Module } from '@nestjs/common';
import { serviceModules } from '@orders/platform';
import { InventoryEnv, inventoryService } from './config';
import { ProductsModule } from './products/products.module';
import { ReservationsModule } from './reservations/reservations.module';

@Module({})
export class AppModule {
  static register(cfg: InventoryEnv): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [...serviceModules(cfg, inventoryService(cfg)), ProductsModule, ReservationsModule],
      providers: [{ provide: InventoryEnv, useValue: cfg }],
      exports: [InventoryEnv],
    };
  }
}
