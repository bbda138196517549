import { DynamicModule, Module } from '@nestjs/common';
import { OrderReceivingEnv } from '../config';
import { ApiKeyGuard } from './auth.guard';
import { IntakeService } from './intake.service';
import { OrderEventsHub } from './order-events.hub';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';
import { StatusConsumer } from './status.consumer';

/** The storefront API, the read model and client push. */
@Module({})
export class OrdersModule {
  static register(cfg: OrderReceivingEnv): DynamicModule {
    return {
      module: OrdersModule,
      controllers: [OrdersController, StatusConsumer],
      providers: [{ provide: OrderReceivingEnv, useValue: cfg }, IntakeService, OrdersService, OrderEventsHub, ApiKeyGuard],
    };
  }
}
