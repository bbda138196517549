import { IsBoolean, IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';

/** `PUT /control`: any subset; fields left out keep their current value. */
export class ControlDto {
  @IsOptional() @IsInt() @Min(0) @Max(60000)
  latencyMs?: number;

  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) @Max(1)
  errorRate?: number;

  @IsOptional() @IsBoolean()
  outage?: boolean;
}
