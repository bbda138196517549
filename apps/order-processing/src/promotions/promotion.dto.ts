import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn, IsInt, IsISO8601, IsOptional, Matches, Max, Min, Validate, ValidateIf,
  ValidationArguments, ValidatorConstraint, ValidatorConstraintInterface,
} from 'class-validator';

export const PROMOTION_CODE = /^[A-Za-z0-9_-]{1,64}$/;

@ValidatorConstraint({ name: 'percentAtMost100' })
class PercentAtMost100 implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return (args.object as PutPromotionDto).type !== 'percent' || (typeof value === 'number' && value <= 100);
  }
  defaultMessage(): string {
    return 'value of a percent promotion must be between 1 and 100';
  }
}

@ValidatorConstraint({ name: 'endsAfterStart' })
class EndsAfterStart implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const start = (args.object as PutPromotionDto).startsAt;
    return !start || typeof value !== 'string' || Date.parse(value) > Date.parse(start);
  }
  defaultMessage(): string {
    return 'endsAt must be later than startsAt';
  }
}

/** `PUT /promotions/{code}`: creates or replaces the promotion's terms (its redemption count is kept). */
export class PutPromotionDto {
  @ApiProperty({ enum: ['percent', 'fixed'] })
  @IsIn(['percent', 'fixed'])
  type: 'percent' | 'fixed';

  @ApiProperty({ description: 'percent: 1..100; fixed: minor units of `currency`' })
  @IsInt() @Min(1) @Max(1_000_000_000) @Validate(PercentAtMost100)
  value: number;

  @ApiPropertyOptional({ description: 'ISO 4217; required for fixed; if set, only orders in this currency qualify' })
  @ValidateIf((o: PutPromotionDto) => o.type === 'fixed' || o.currency !== undefined)
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as EUR (required for a fixed promotion)' })
  currency?: string;

  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(2_000_000_000)
  minSubtotalCents?: number;

  @ApiPropertyOptional() @IsOptional() @IsISO8601({ strict: true })
  startsAt?: string;

  @ApiPropertyOptional() @IsOptional() @IsISO8601({ strict: true }) @Validate(EndsAfterStart)
  endsAt?: string;

  @ApiPropertyOptional({ description: 'how many orders may redeem it; unlimited when absent' })
  @IsOptional() @IsInt() @Min(0) @Max(2_000_000_000)
  maxRedemptions?: number;
}

export interface PromotionView {
  code: string;
  type: 'percent' | 'fixed';
  value: number;
  currency: string | null;
  minSubtotalCents: number | null;
  startsAt: string | null;
  endsAt: string | null;
  maxRedemptions: number | null;
  redemptions: number;
  createdAt: string;
  updatedAt: string;
}
