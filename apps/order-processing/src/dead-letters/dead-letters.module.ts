import { Module } from '@nestjs/common';
import { ADMIN_TOKEN, AdminGuard } from '@orders/platform';
import { OrderProcessingEnv } from '../config';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersService } from './dead-letters.service';
import { QueuesController } from './queues.controller';

@Module({
  controllers: [DeadLettersController, QueuesController],
  providers: [DeadLettersService, AdminGuard, { provide: ADMIN_TOKEN, useFactory: (cfg: OrderProcessingEnv) => cfg.ADMIN_TOKEN, inject: [OrderProcessingEnv] }],
})
export class DeadLettersModule {}
