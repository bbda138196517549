import { Module } from '@nestjs/common';
import { ADMIN_TOKEN, AdminGuard } from '@orders/platform';
import { OrderProcessingEnv } from '../config';
import { PromotionsController } from './promotions.controller';
import { PromotionsService } from './promotions.service';

@Module({
  controllers: [PromotionsController],
  providers: [PromotionsService, AdminGuard, { provide: ADMIN_TOKEN, useFactory: (cfg: OrderProcessingEnv) => cfg.ADMIN_TOKEN, inject: [OrderProcessingEnv] }],
  exports: [PromotionsService],
})
export class PromotionsModule {}
