import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

export class ListQueryDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  start: number = 0;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(5000)
  limit: number = 50;
}

/** Mailpit's `DELETE /api/v1/messages` body: the IDs to delete, or nothing to delete all. */
export class DeleteDto {
  @IsOptional() @IsArray() @ArrayMaxSize(10000) @IsString({ each: true })
  IDs?: string[];
}
