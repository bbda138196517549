import { IsISO8601 } from 'class-validator';
import { OrderRefV1, OrderStatus } from './common';

/**
 * order-receiving → order-processing: the storefront asked to cancel a
 * non-final order. It is a request: order-processing answers with its
 * CancelVerdict once the decision is committed, and order-receiving answers
 * the storefront with it.
 */
export class OrderCancelRequestedV1 extends OrderRefV1 {
  @IsISO8601() requestedAt: string;
}

/**
 * What order-processing decided about a cancel, as committed:
 * - `cancelled`: the order is CANCELLED now (`status` PENDING or PROCESSING: what it was);
 * - `will_cancel`: the order's placement has not arrived yet; it ends CANCELLED when it does, never reserving (`status` PENDING);
 * - `refused`: the order was CONFIRMED first; it stays CONFIRMED;
 * - `final`: the order had already ended otherwise (`status` its final status).
 */
export interface CancelVerdict {
  outcome: 'cancelled' | 'will_cancel' | 'refused' | 'final';
  status: OrderStatus;
}
