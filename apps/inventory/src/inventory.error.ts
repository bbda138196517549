import { HttpException } from '@nestjs/common';
import type { Disposition, HasDisposition } from '@orders/messaging';

export type InventoryErrorCode = 'product_not_found' | 'stock_below_reserved';

/** Each code maps to the HTTP status an admin sees and to what the transport does with a failed command. */
const CODES: Record<InventoryErrorCode, { status: number; disposition: Disposition }> = {
  product_not_found: { status: 404, disposition: 'dead-letter' },
  stock_below_reserved: { status: 409, disposition: 'dead-letter' },
};

/** The inventory module's one error type. */
export class InventoryError extends HttpException implements HasDisposition {
  readonly disposition: Disposition;
  constructor(readonly code: InventoryErrorCode, message: string, details?: Record<string, unknown>) {
    super({ message, details: { code, ...details } }, CODES[code].status);
    this.disposition = CODES[code].disposition;
  }
}
