import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module';
import { PromotionsModule } from '../promotions/promotions.module';
import { TenantAdmission } from './admission';
import { AdmissionReconciler } from './admission-reconciler';
import { LegacyConsumer } from './legacy.consumer';
import { LegacySteps } from './legacy.service';
import { OrderLifecycle } from './order-lifecycle';
import { OrderMetrics } from './order-metrics';
import { OrderStore } from './order-store';
import { SagaConsumer } from './saga.consumer';
import { SagaService } from './saga.service';
import { OrderWatchdog } from './watchdog';

/** The order saga: its state, its steps, admission, the watchdog. */
@Module({
  imports: [PromotionsModule, PaymentsModule],
  controllers: [SagaConsumer, LegacyConsumer],
  providers: [OrderStore, OrderLifecycle, SagaService, LegacySteps, TenantAdmission, AdmissionReconciler, OrderWatchdog, OrderMetrics],
  exports: [SagaService, OrderStore],
})
export class OrdersModule {}
