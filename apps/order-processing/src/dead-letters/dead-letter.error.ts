import { HttpException } from '@nestjs/common';

export type DeadLetterErrorCode = 'unknown_queue' | 'unknown_message' | 'broker_unavailable';

const STATUS: Record<DeadLetterErrorCode, number> = {
  unknown_queue: 404,
  unknown_message: 404,
  broker_unavailable: 503,
};

/** The dead-letter module's one error type; each code maps to one HTTP status. */
export class DeadLetterError extends HttpException {
  constructor(readonly code: DeadLetterErrorCode, message: string) {
    super({ message }, STATUS[code]);
    this.name = 'DeadLetterError';
  }
}
