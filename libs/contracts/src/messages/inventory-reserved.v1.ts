import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsISO8601, Matches, ValidateNested } from 'class-validator';
import { OrderRefV1, PricedLineV1 } from './common';

/** inventory → order-processing: every line is reserved at these prices. */
export class InventoryReservedV1 extends OrderRefV1 {
  @ArrayMinSize(1) @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => PricedLineV1) lines: PricedLineV1[];
  @Matches(/^[A-Z]{3}$/) currency: string;
  @IsISO8601() expiresAt: string;
}
