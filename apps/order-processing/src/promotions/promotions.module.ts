import { Module } from '@nestjs/common';
import { AdminGuard } from '../admin/admin.guard';
import { PromotionsController } from './promotions.controller';
import { PromotionsService } from './promotions.service';

@Module({
  controllers: [PromotionsController],
  providers: [PromotionsService, AdminGuard],
  exports: [PromotionsService],
})
export class PromotionsModule {}
