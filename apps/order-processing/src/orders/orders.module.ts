import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module';
import { PromotionsModule } from '../promotions/promotions.module';
import { TenantAdmission } from './admission';
import { AdmissionReconciler } from './admission-reconciler';
import { OrderMetrics } from './order-metrics';
import { OrderStoreModule } from './order-store.module';
import { SagaConsumer } from './saga.consumer';
import { SagaService } from './saga.service';
import { OrderWatchdog } from './watchdog';

@Module({
  imports: [PromotionsModule, OrderStoreModule, PaymentsModule],
  controllers: [SagaConsumer],
  providers: [SagaService, TenantAdmission, AdmissionReconciler, OrderWatchdog, OrderMetrics],
  exports: [SagaService],
})
export class OrdersModule {}
