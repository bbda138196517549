import { DynamicModule, Module } from '@nestjs/common';
import { OrderReceivingEnv } from '../config';
import { CancelsService } from './cancels/cancels.service';
import { ApiKeyGuard } from './http/auth.guard';
import { OrdersController } from './http/orders.controller';
import { IntakeService } from './intake/intake.service';
import { OrderEventsHub } from './push/order-events.hub';
import { OrderStreams } from './push/order-streams';
import { ReadModelService } from './read-model/read-model.service';
import { StatusConsumer } from './read-model/status.consumer';

/**
 * The storefront's orders: intake (accept at once, exactly once), the read
 * model (kept current by status events), cancels (asked of order-processing)
 * and push (SSE streams and `Prefer: wait`), behind one HTTP controller.
 */
@Module({})
export class OrdersModule {
  static register(cfg: OrderReceivingEnv): DynamicModule {
    return {
      module: OrdersModule,
      controllers: [OrdersController, StatusConsumer],
      providers: [{ provide: OrderReceivingEnv, useValue: cfg }, IntakeService, ReadModelService, CancelsService, OrderEventsHub, OrderStreams, ApiKeyGuard],
    };
  }
}
