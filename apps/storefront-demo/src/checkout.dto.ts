import { IsEmail, IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { CATALOGUE, PAYMENT_TOKENS } from './catalogue';

/** What the demo page posts to its own backend for one checkout. */
export class CheckoutDto {
  /** Made once per checkout by the page; the backend uses it as the Idempotency-Key, so a retried checkout is one order. */
  @Matches(/^[A-Za-z0-9-]{8,64}$/) checkoutId: string;
  @IsIn(CATALOGUE.map((p) => p.sku)) sku: string;
  @IsInt() @Min(1) @Max(1000) quantity: number;
  @IsIn(Object.keys(PAYMENT_TOKENS)) payment: keyof typeof PAYMENT_TOKENS;
  @IsEmail() email: string;
  @IsOptional() @IsString() @Length(1, 200) name?: string;
}

/** Gateway behaviour the page can set (forwarded to the simulator's PUT /control). */
export class GatewayControlDto {
  @IsOptional() @IsInt() @Min(0) @Max(60000) latencyMs?: number;
  @IsOptional() @Min(0) @Max(1) errorRate?: number;
  @IsOptional() @IsIn([true, false]) outage?: boolean;
}
