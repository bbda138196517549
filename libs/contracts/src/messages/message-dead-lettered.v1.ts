import { Type } from 'class-transformer';
import { IsOptional, IsString, IsUUID, Length, ValidateNested } from 'class-validator';
import { OrderPlacedV1 } from './order-placed.v1';

/**
 * Any service → order-processing: a message was moved to a dead-letter queue
 * after its attempts (or at once, if invalid). For a step of an order's saga
 * it means that order can no longer complete: order-processing fails it with
 * full compensation, so every accepted order ends. When the dead letter is
 * the order's own order.placed.v1, the announcement carries that placement,
 * so order-processing can record the order it never saw and fail it.
 */
export class MessageDeadLetteredV1 {
  @IsUUID() messageId: string;
  @IsString() @Length(1, 100) name: string;
  @IsString() @Length(1, 100) queue: string;
  @IsString() @Length(1, 1000) reason: string;
  @IsOptional() @IsUUID() orderId?: string;
  @IsOptional() @IsString() @Length(1, 64) tenantId?: string;
  @IsOptional() @ValidateNested() @Type(() => OrderPlacedV1) placedOrder?: OrderPlacedV1;
}
