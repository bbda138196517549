import { Module } from '@nestjs/common';
import { PromotionsModule } from '../promotions/promotions.module';
import { TenantAdmission } from './admission';
import { AdmissionReconciler } from './admission-reconciler';
import { OrderStore } from './order-store';
import { SagaConsumer } from './saga.consumer';
import { SagaService } from './saga.service';

@Module({
  imports: [PromotionsModule],
  controllers: [SagaConsumer],
  providers: [OrderStore, SagaService, TenantAdmission, AdmissionReconciler],
  exports: [OrderStore, SagaService],
})
export class OrdersModule {}
