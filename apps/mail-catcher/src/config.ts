import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Max, Min } from 'class-validator';

/** The dev mail catcher has no database and no broker: ports and memory bounds only. */
export class MailCatcherEnv {
  /** HTTP API port (Mailpit's is 8025); 0 picks a free one (tests). */
  @Type(() => Number) @IsInt() @Min(0) @Max(65535)
  PORT: number = 8025;

  @IsString()
  HOST: string = '0.0.0.0';

  /** SMTP port (Mailpit's is 1025); 0 picks a free one (tests). */
  @Type(() => Number) @IsInt() @Min(0) @Max(65535)
  SMTP_PORT: number = 1025;

  @IsString()
  SMTP_HOST: string = '0.0.0.0';

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: string = 'log';

  /** Messages kept; the oldest are dropped beyond this. */
  @Type(() => Number) @IsInt() @Min(1) @Max(100_000)
  MAX_MESSAGES: number = 1000;

  /** Largest message accepted over SMTP, in bytes (announced with SIZE). */
  @Type(() => Number) @IsInt() @Min(1024) @Max(100 * 1024 * 1024)
  MAX_MESSAGE_BYTES: number = 10 * 1024 * 1024;
}
