import { IsEmail, IsInt, IsOptional, IsString, IsUUID, Length, Matches, Max, Min } from 'class-validator';

export const ORDER_STATUSES = ['PENDING', 'PROCESSING', 'CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const FINAL_STATUSES: readonly OrderStatus[] = ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'];
export const isFinalStatus = (s: string): boolean => (FINAL_STATUSES as readonly string[]).includes(s);

export const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class CustomerV1 {
  @IsString() @Length(1, 128) id: string;
  @IsEmail() @Length(3, 254) email: string;
  @IsOptional() @IsString() @Length(1, 200) name?: string;
}

export class OrderLineV1 {
  @Matches(SKU_PATTERN) sku: string;
  @IsInt() @Min(1) @Max(1000) quantity: number;
}

export class PricedLineV1 extends OrderLineV1 {
  @IsString() @Length(1, 200) name: string;
  @IsInt() @Min(0) unitPriceCents: number;
}

export class TotalsV1 {
  @IsInt() @Min(0) subtotalCents: number;
  @IsInt() @Min(0) discountCents: number;
  @IsInt() @Min(0) totalCents: number;
  @Matches(/^[A-Z]{3}$/) currency: string;
}

export class AddressV1 {
  @IsString() @Length(1, 200) line1: string;
  @IsOptional() @IsString() @Length(1, 200) line2?: string;
  @IsString() @Length(1, 100) city: string;
  @IsString() @Length(1, 20) postalCode: string;
  @Matches(/^[A-Z]{2}$/) country: string;
  @IsOptional() @IsString() @Length(1, 100) region?: string;
}

export class OrderRefV1 {
  @IsUUID() orderId: string;
  @IsString() @Length(1, 64) tenantId: string;
}
