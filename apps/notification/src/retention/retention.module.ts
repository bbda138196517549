import { Module } from '@nestjs/common';
import { RetentionService } from './retention.service';

/** Retention of the delivery log and of sent emails (no API, no messages: a periodic prune). */
@Module({ providers: [RetentionService] })
export class RetentionModule {}
