import { Type } from 'class-transformer';
import {
  ArrayMaxSize, IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Length, Min, ValidateNested,
} from 'class-validator';
import { CustomerV1, ORDER_STATUSES, OrderRefV1, OrderStatus, TotalsV1 } from './common';
import { OrderLineV1 } from './common';

export class StatusLineV1 extends OrderLineV1 {
  @IsOptional() @IsString() @Length(1, 200) name?: string;
  @IsOptional() @IsInt() @Min(0) unitPriceCents?: number;
}

/**
 * A status the order passed through whose own event was never sent: it
 * was still waiting to be (order-processing sends PROCESSING only for an
 * order not final within STATUS_COALESCE_MS) when the order reached this
 * one. `eventId` is the id that event had.
 */
export class EarlierStatusV1 {
  @IsUUID() eventId: string;
  @IsIn(ORDER_STATUSES) status: OrderStatus;
  @IsOptional() @IsString() @Length(1, 64) reason?: string;
  @IsInt() @Min(1) sequence: number;
  @IsISO8601() at: string;
}

/**
 * order-processing → everyone: an order moved to a new status. `sequence`
 * orders a single order's events. Routed by status, tenant and lane
 * (routeOf): the lane its placement came in, so the read model takes a
 * quiet tenant's statuses beside, never behind, a flood's. `customer` is
 * missing only for an order whose placement could not be read.
 */
export class OrderStatusChangedV1 extends OrderRefV1 {
  @IsIn(ORDER_STATUSES) status: OrderStatus;
  @IsOptional() @IsString() @Length(1, 64) reason?: string;
  @IsInt() @Min(1) sequence: number;
  @IsISO8601() at: string;
  @IsOptional() @ValidateNested() @Type(() => CustomerV1) customer?: CustomerV1;
  @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => StatusLineV1) items: StatusLineV1[];
  @IsOptional() @ValidateNested() @Type(() => TotalsV1) totals?: TotalsV1;
  @IsOptional() @IsString() @Length(1, 64) couponCode?: string;
  /** The statuses before this one whose events were not sent (EarlierStatusV1), oldest first. */
  @IsOptional() @ArrayMaxSize(4) @ValidateNested({ each: true }) @Type(() => EarlierStatusV1) earlier?: EarlierStatusV1[];
  /** The order's admission lane (from order.placed.v1); absent: `quiet`. */
  @IsOptional() @IsIn(['quiet', 'bulk']) lane?: 'quiet' | 'bulk';
}
