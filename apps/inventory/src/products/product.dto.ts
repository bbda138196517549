import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { SKU_PATTERN } from '@orders/contracts';

const SKU_MESSAGE = 'sku must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit';

export class SkuParams {
  @Matches(SKU_PATTERN, { message: SKU_MESSAGE }) sku: string;
}

/** `PUT /products/{sku}`: the whole product; `stock` is the units on hand. */
export class PutProductBody {
  /** Same bounds as a priced line in `inventory.reserved.v1`. */
  @IsString() @Length(1, 200) name: string;
  @IsInt() @Min(0) @Max(1_000_000_000) priceCents: number;
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code of 3 upper-case letters' }) currency: string;
  @IsInt() @Min(0) @Max(1_000_000_000) stock: number;
}

export class ListProductsQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  /** The last sku of the previous page (`nextCursor`). */
  @IsOptional() @Matches(SKU_PATTERN, { message: 'cursor must be a nextCursor from a previous page' }) cursor?: string;
}

export interface ProductView {
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  stock: number;
  reserved: number;
  available: number;
}

export interface ProductPage {
  items: ProductView[];
  nextCursor: string | null;
}
