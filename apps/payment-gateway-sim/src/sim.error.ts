import { HttpException } from '@nestjs/common';

export type SimErrorCode = 'missing_idempotency_key' | 'not_found' | 'conflict' | 'unavailable';

const STATUS: Record<SimErrorCode, number> = {
  missing_idempotency_key: 400,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
};

/** The simulator's one error type; each code maps to one HTTP status. */
export class SimError extends HttpException {
  constructor(readonly code: SimErrorCode, message: string) {
    super({ message, details: { code } }, STATUS[code]);
  }
}
