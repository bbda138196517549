import { ArrayMaxSize, IsArray, IsOptional, Matches } from 'class-validator';
import { OrderRefV1, SKU_PATTERN } from './common';

/** order-processing → inventory: turn the order's reservation into a sale. */
export class InventoryCommitV1 extends OrderRefV1 {
  /**
   * The order's distinct skus: inventory locks their products in the round
   * trip that opens the step, with the reservation (one round trip less).
   * Earlier versions send none: the products are then locked on their own.
   */
  @IsOptional() @IsArray() @ArrayMaxSize(100) @Matches(SKU_PATTERN, { each: true }) skus?: string[];
}
