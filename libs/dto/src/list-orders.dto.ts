import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ORDER_STATUSES, OrderStatus } from '@orders/contracts';

/** Query of `GET /orders`. */
export class ListOrdersQueryDto {
  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional() @IsIn(ORDER_STATUSES)
  status?: OrderStatus;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'opaque cursor from a previous page (nextCursor)' })
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9_-]{1,200}$/, { message: 'cursor is not a cursor this API issued' })
  cursor?: string;
}

/** Query of `GET /orders/{id}/events`. */
export class OrderEventsQueryDto {
  @ApiPropertyOptional({ description: 'the token from links.events (instead of an Authorization header); it expires (EVENTS_TOKEN_TTL_SECONDS)' })
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9_.-]{1,100}$/, { message: 'token is malformed' })
  token?: string;

  @ApiPropertyOptional({ description: 'resume after this sequence (like the Last-Event-ID header)' })
  @IsOptional() @Matches(/^\d{1,9}$/, { message: 'lastEventId must be a sequence number' })
  lastEventId?: string;
}
