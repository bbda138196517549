import { Module } from '@nestjs/common';
import { AdminGuard } from '../admin/admin.guard';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersService } from './dead-letters.service';

@Module({
  controllers: [DeadLettersController],
  providers: [DeadLettersService, AdminGuard],
})
export class DeadLettersModule {}
