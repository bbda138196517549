import { Type } from 'class-transformer';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsBoolean, IsIn, IsInt, IsNumber, IsString, Max, Min } from 'class-validator';
import { EnvBool } from '@orders/platform';

/** The simulator has no database and no broker: only its port and its initial behaviour. */
export class PaymentSimEnv {
  /** HTTP port; 0 picks a free one (tests). */
  @Type(() => Number) @IsInt() @Min(0) @Max(65535)
  PORT: number = 4000;

  @IsString()
  HOST: string = '0.0.0.0';

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: string = 'log';

  /** Delay added to every POST before it answers. */
  @Type(() => Number) @IsInt() @Min(0) @Max(60000)
  SIM_LATENCY_MS: number = 0;

  /** Share (0..1) of POSTs answered with a simulated 503. */
  @Type(() => Number) @IsNumber() @Min(0) @Max(1)
  SIM_ERROR_RATE: number = 0;

  /** Start in a simulated outage: every POST answers 503. */
  @EnvBool() @IsBoolean()
  SIM_OUTAGE: boolean = false;

  /** Most authorizations (and idempotency answers) kept in memory; the oldest are forgotten first. */
  @Type(() => Number) @IsInt() @Min(100) @Max(10_000_000)
  SIM_MAX_ENTRIES: number = 100_000;

  /**
   * Journal (JSON lines) of authorizations and idempotency answers, replayed
   * on start so a restart forgets nothing. Default: one file per port under
   * the OS temp directory; with PORT=0 (tests) and no file given, memory only.
   * `none` keeps everything in memory.
   */
  @IsString()
  SIM_STATE_FILE: string = '';

  get stateFile(): string | null {
    if (this.SIM_STATE_FILE === 'none') return null;
    if (this.SIM_STATE_FILE) return this.SIM_STATE_FILE;
    return this.PORT === 0 ? null : join(tmpdir(), `payment-gateway-sim-${this.PORT}.jsonl`);
  }
}
