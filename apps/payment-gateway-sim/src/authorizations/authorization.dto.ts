import { IsInt, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, Min, Max } from 'class-validator';

export class AuthorizeDto {
  @IsString() @IsNotEmpty() @MaxLength(200)
  orderId: string;

  @IsInt() @Min(0) @Max(2_000_000_000)
  amountCents: number;

  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as EUR' })
  currency: string;

  @IsString() @IsNotEmpty() @MaxLength(200)
  token: string;
}

export class ListQueryDto {
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(200)
  orderId?: string;
}
