import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsIn, IsISO8601, IsOptional, IsString, Length, ValidateNested } from 'class-validator';
import { AddressV1, CustomerV1, OrderLineV1, OrderRefV1 } from './common';

export class PaymentV1 {
  @IsString() @Length(1, 255) token: string;
}

/** order-receiving → order-processing: a storefront order was durably accepted. */
export class OrderPlacedV1 extends OrderRefV1 {
  @ValidateNested() @Type(() => CustomerV1) customer: CustomerV1;
  @ArrayMinSize(1) @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => OrderLineV1) items: OrderLineV1[];
  @IsOptional() @IsString() @Length(1, 64) couponCode?: string;
  @ValidateNested() @Type(() => AddressV1) shippingAddress: AddressV1;
  @ValidateNested() @Type(() => PaymentV1) payment: PaymentV1;
  @IsISO8601() placedAt: string;
  /** Which admission lane it waits in (routing): `bulk` when its tenant placed far more than its share lately. */
  @IsOptional() @IsIn(['quiet', 'bulk']) lane?: 'quiet' | 'bulk';
}
