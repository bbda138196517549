import { HttpException } from '@nestjs/common';

export type CatcherErrorCode = 'not_found';

const STATUS: Record<CatcherErrorCode, number> = { not_found: 404 };

/** The mail catcher's one error type; each code maps to one HTTP status. */
export class CatcherError extends HttpException {
  constructor(readonly code: CatcherErrorCode, message: string) {
    super({ message, details: { code } }, STATUS[code]);
  }
}
