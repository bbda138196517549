import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ORDER_STATUSES, OrderStatus } from '@orders/contracts';
import { CustomerDto } from './create-order.dto';

export class OrderLinksDto {
  @ApiProperty({ example: '/orders/0b7f5b8e-4d7a-4c43-9a53-5a1c1e0b6f11' }) self: string;
  @ApiProperty({ description: 'SSE stream of this order; opens without custom headers (EventSource)' }) events: string;
}

/** `202 Accepted` body of `POST /orders`. */
export class OrderAcceptedDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['PENDING'] }) status: 'PENDING';
  @ApiProperty({ type: OrderLinksDto }) links: OrderLinksDto;
}

export class TotalsDto {
  @ApiProperty() subtotalCents: number;
  @ApiProperty() discountCents: number;
  @ApiProperty() totalCents: number;
  @ApiProperty({ example: 'EUR' }) currency: string;
}

export class OrderLineDto {
  @ApiProperty() sku: string;
  @ApiProperty() quantity: number;
  @ApiPropertyOptional({ description: 'present once priced' }) name?: string;
  @ApiPropertyOptional({ description: 'present once priced' }) unitPriceCents?: number;
}

export class HistoryEntryDto {
  @ApiProperty({ enum: ORDER_STATUSES }) status: OrderStatus;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiPropertyOptional() reason?: string;
}

/** `GET /orders/{id}` (and `200` of `POST /orders` with `Prefer: wait`). */
export class OrderDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ORDER_STATUSES }) status: OrderStatus;
  @ApiProperty({ type: CustomerDto }) customer: CustomerDto;
  @ApiProperty({ type: [OrderLineDto] }) items: OrderLineDto[];
  @ApiProperty({ type: TotalsDto, nullable: true, description: 'null until priced' }) totals: TotalsDto | null;
  @ApiProperty({ nullable: true, type: String }) couponCode: string | null;
  @ApiPropertyOptional() rejectionReason?: string;
  @ApiProperty({ type: [HistoryEntryDto] }) history: HistoryEntryDto[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

/** One row of `GET /orders`. */
export class OrderSummaryDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ORDER_STATUSES }) status: OrderStatus;
  @ApiProperty({ type: CustomerDto }) customer: CustomerDto;
  @ApiProperty({ type: TotalsDto, nullable: true }) totals: TotalsDto | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class OrderListDto {
  @ApiProperty({ type: [OrderSummaryDto] }) items: OrderSummaryDto[];
  @ApiProperty({ nullable: true, type: String, description: 'pass as cursor for the next page; null on the last page' }) nextCursor: string | null;
}

/** `data:` of one SSE event: the order summary at that status change. */
export class OrderEventDto extends OrderSummaryDto {
  @ApiProperty() sequence: number;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiPropertyOptional() reason?: string;
}

/** `202` body of `POST /orders/{id}/cancel`: order-processing's decision, as committed. */
export class CancelAcceptedDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ORDER_STATUSES, description: 'the status the order had when the cancel was decided (PENDING or PROCESSING)' }) status: OrderStatus;
  @ApiProperty({ example: true }) cancellationRequested: true;
  @ApiProperty({
    enum: ['cancelled', 'will_cancel'],
    description: '`cancelled`: the order is CANCELLED now; `will_cancel`: its placement has not reached processing yet, and it ends CANCELLED when it does, never reserving',
  })
  outcome: 'cancelled' | 'will_cancel';
}
