import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize, ArrayMinSize, IsArray, IsDefined, IsEmail, IsInt, IsISO31661Alpha2, IsObject, IsOptional, IsString,
  Length, Matches, Max, Min, ValidateNested,
} from 'class-validator';
import { SKU_PATTERN } from '@orders/contracts';

export const MAX_ORDER_LINES = 100;
export const MAX_LINE_QUANTITY = 1000;

export class CustomerDto {
  @ApiProperty({ example: 'cust-1', minLength: 1, maxLength: 128 })
  @IsString() @Length(1, 128)
  id: string;

  @ApiProperty({ example: 'ada@example.com', format: 'email' })
  @IsEmail() @Length(3, 254)
  email: string;

  @ApiPropertyOptional({ example: 'Ada Lovelace', minLength: 1, maxLength: 200 })
  @IsOptional() @IsString() @Length(1, 200)
  name?: string;
}

export class OrderItemDto {
  @ApiProperty({ example: 'SKU-1', pattern: SKU_PATTERN.source })
  @IsString() @Matches(SKU_PATTERN, { message: 'sku must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit' })
  sku: string;

  @ApiProperty({ example: 2, minimum: 1, maximum: MAX_LINE_QUANTITY })
  @IsInt() @Min(1) @Max(MAX_LINE_QUANTITY)
  quantity: number;
}

export class ShippingAddressDto {
  @ApiProperty({ example: '1 Analytical Way', maxLength: 200 })
  @IsString() @Length(1, 200)
  line1: string;

  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional() @IsString() @Length(1, 200)
  line2?: string;

  @ApiProperty({ example: 'London', maxLength: 100 })
  @IsString() @Length(1, 100)
  city: string;

  @ApiProperty({ example: 'N1 9GU', maxLength: 20 })
  @IsString() @Length(1, 20)
  postalCode: string;

  @ApiProperty({ example: 'GB', description: 'ISO 3166-1 alpha-2, upper case' })
  @IsString() @Matches(/^[A-Z]{2}$/, { message: 'country must be an upper-case ISO 3166-1 alpha-2 code' }) @IsISO31661Alpha2()
  country: string;

  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional() @IsString() @Length(1, 100)
  region?: string;
}

export class PaymentDto {
  @ApiProperty({ example: 'tok_ok', description: 'payment method token from the payment provider', maxLength: 255 })
  @IsString() @Length(1, 255)
  token: string;
}

/** The body of `POST /orders`. Prices are never accepted from the client. */
export class CreateOrderDto {
  @ApiProperty({ type: CustomerDto })
  @IsDefined() @IsObject() @ValidateNested() @Type(() => CustomerDto)
  customer: CustomerDto;

  @ApiProperty({ type: [OrderItemDto], minItems: 1, maxItems: MAX_ORDER_LINES })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(MAX_ORDER_LINES) @IsObject({ each: true }) @ValidateNested({ each: true }) @Type(() => OrderItemDto)
  items: OrderItemDto[];

  @ApiPropertyOptional({ example: 'SPRING10', maxLength: 64 })
  @IsOptional() @IsString() @Length(1, 64)
  couponCode?: string;

  @ApiProperty({ type: ShippingAddressDto })
  @IsDefined() @IsObject() @ValidateNested() @Type(() => ShippingAddressDto)
  shippingAddress: ShippingAddressDto;

  @ApiProperty({ type: PaymentDto })
  @IsDefined() @IsObject() @ValidateNested() @Type(() => PaymentDto)
  payment: PaymentDto;
}
