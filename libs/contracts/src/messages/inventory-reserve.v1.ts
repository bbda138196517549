import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ValidateNested } from 'class-validator';
import { OrderLineV1, OrderRefV1 } from './common';

/** order-processing → inventory: price and reserve these lines, all or nothing. */
export class InventoryReserveV1 extends OrderRefV1 {
  @ArrayMinSize(1) @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => OrderLineV1) items: OrderLineV1[];
}
