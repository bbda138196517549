import { Module } from '@nestjs/common';
import { ADMIN_TOKEN, AdminGuard } from '@orders/platform';
import { InventoryEnv } from '../config';
import { ProductsController } from './products.controller';
import { ProductsService } from './products.service';

@Module({
  controllers: [ProductsController],
  providers: [ProductsService, AdminGuard, { provide: ADMIN_TOKEN, useFactory: (cfg: InventoryEnv) => cfg.ADMIN_TOKEN, inject: [InventoryEnv] }],
})
export class ProductsModule {}
