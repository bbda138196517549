import { IsString, Length } from 'class-validator';
import { OrderRefV1 } from './common';

/** order-processing → inventory: give the order's reserved stock back. */
export class InventoryReleaseV1 extends OrderRefV1 {
  @IsString() @Length(1, 64) reason: string;
}
