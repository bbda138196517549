import { HttpException } from '@nestjs/common';

export type PromotionErrorCode = 'invalid_code' | 'not_found';

const STATUS: Record<PromotionErrorCode, number> = {
  invalid_code: 400,
  not_found: 404,
};

/** The promotions module's one error type; each code maps to one HTTP status. */
export class PromotionError extends HttpException {
  constructor(readonly code: PromotionErrorCode, message: string, details?: unknown) {
    super({ message, ...(details !== undefined ? { details } : {}) }, STATUS[code]);
    this.name = 'PromotionError';
  }
}
