import { DynamicModule, Module } from '@nestjs/common';
import { serviceModules } from '@orders/platform';
import { OrderProcessingEnv, orderProcessingService } from './config';
import { OrdersModule } from './orders/orders.module';
import { PaymentsModule } from './payments/payments.module';
import { PromotionsModule } from './promotions/promotions.module';

@Module({})
export class AppModule {
  static register(cfg: OrderProcessingEnv): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [...serviceModules(cfg, orderProcessingService(cfg)), PromotionsModule, OrdersModule, PaymentsModule],
      providers: [{ provide: OrderProcessingEnv, useValue: cfg }],
      exports: [OrderProcessingEnv],
    };
  }
}
