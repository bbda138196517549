import { Type } from 'class-transformer';
import {
  ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsISO8601, IsString, Length, Matches, ValidateNested,
} from 'class-validator';
import { OrderLineV1, OrderRefV1, PricedLineV1, SKU_PATTERN } from './common';

/** order-processing → inventory: price and reserve these lines, all or nothing. */
export class InventoryReserveV1 extends OrderRefV1 {
  @ArrayMinSize(1) @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => OrderLineV1) items: OrderLineV1[];
}

/** inventory → order-processing: every line is reserved at these prices. */
export class InventoryReservedV1 extends OrderRefV1 {
  @ArrayMinSize(1) @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => PricedLineV1) lines: PricedLineV1[];
  @Matches(/^[A-Z]{3}$/) currency: string;
  @IsISO8601() expiresAt: string;
}

export const RESERVATION_REJECTIONS = ['out_of_stock', 'unknown_product', 'mixed_currency'] as const;
export type ReservationRejection = (typeof RESERVATION_REJECTIONS)[number];

/** inventory → order-processing: nothing was reserved. */
export class InventoryReservationRejectedV1 extends OrderRefV1 {
  @IsIn(RESERVATION_REJECTIONS) reason: ReservationRejection;
  @IsArray() @ArrayMaxSize(100) @Matches(SKU_PATTERN, { each: true }) skus: string[];
}

/** order-processing → inventory: turn the order's reservation into a sale. */
export class InventoryCommitV1 extends OrderRefV1 {}

/** inventory → order-processing: the reservation became a sale. */
export class InventoryCommittedV1 extends OrderRefV1 {}

/** inventory → order-processing: the reservation could not be committed (it expired or was released). */
export class InventoryCommitFailedV1 extends OrderRefV1 {
  @IsIn(['reservation_expired', 'reservation_missing']) reason: 'reservation_expired' | 'reservation_missing';
}

/** order-processing → inventory: give the order's reserved stock back. */
export class InventoryReleaseV1 extends OrderRefV1 {
  @IsString() @Length(1, 64) reason: string;
}
