import { Type } from 'class-transformer';
import { IsInt, IsString, Length, Max, Min } from 'class-validator';
import { BaseEnv } from '@orders/platform';

export class NotificationEnv extends BaseEnv {
  override PORT: number = 3002;
  override DB_SCHEMA: string = 'notification';

  /** SMTP relay for customer email (the dev mail catcher or Mailpit listen on 1025). */
  @IsString() @Length(1, 255)
  SMTP_HOST: string = '127.0.0.1';

  @Type(() => Number) @IsInt() @Min(1) @Max(65535)
  SMTP_PORT: number = 1025;

  /** Connect, greeting and socket timeout of one SMTP send. */
  @Type(() => Number) @IsInt() @Min(100) @Max(120000)
  SMTP_TIMEOUT_MS: number = 10000;

  /** Sender of customer email, e.g. `"Shop" <orders@shop.example>`. */
  @IsString() @Length(3, 320)
  MAIL_FROM: string = '"Orders" <orders@orders.local>';

  /** Status events handled at once (channel prefetch); each may hold a DB connection while it sends. */
  @Type(() => Number) @IsInt() @Min(1) @Max(100)
  CONSUMER_CONCURRENCY: number = 4;
}
