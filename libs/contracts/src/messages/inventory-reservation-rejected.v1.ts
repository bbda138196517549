import { ArrayMaxSize, IsArray, IsIn, Matches } from 'class-validator';
import { OrderRefV1, SKU_PATTERN } from './common';

export const RESERVATION_REJECTIONS = ['out_of_stock', 'unknown_product', 'mixed_currency'] as const;
export type ReservationRejection = (typeof RESERVATION_REJECTIONS)[number];

/** inventory → order-processing: nothing was reserved. */
export class InventoryReservationRejectedV1 extends OrderRefV1 {
  @IsIn(RESERVATION_REJECTIONS) reason: ReservationRejection;
  @IsArray() @ArrayMaxSize(100) @Matches(SKU_PATTERN, { each: true }) skus: string[];
}
