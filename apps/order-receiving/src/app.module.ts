import { DynamicModule, Module } from '@nestjs/common';
import { serviceModules } from '@orders/platform';
import { OrderReceivingEnv, orderReceivingService } from './config';
import { OrdersModule } from './orders/orders.module';

@Module({})
export class AppModule {
  static register(cfg: OrderReceivingEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [...serviceModules(cfg, orderReceivingService(cfg)), OrdersModule.register(cfg)],
      providers: [{ provide: OrderReceivingEnv, useValue: cfg }],
    };
  }
}
