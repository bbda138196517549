import { IsInt, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, Min, Max } from 'class-validator';

export class AuthorizeDto {
  @IsString() @IsNotEmpty() @MaxLength(200)
  orderId: string;

  @IsInt() @Min(0) @Max(1_000_000_000_000)
  amountCents: number;

  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as EUR' })
  currency: string;

  @IsString() @IsNotEmpty() @MaxLength(200)
  token: string;
}

export class ListQueryDto {
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(200)
  orderId?: string;

  /** The authorization created under this idempotency key, if any (finds one whose answer the client never received). */
  @IsOptional() @Matches(/^[\x21-\x7e]{1,255}$/, { message: 'idempotencyKey must be 1-255 printable characters' })
  idempotencyKey?: string;
}
