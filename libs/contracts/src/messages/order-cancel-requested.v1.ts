import { IsISO8601 } from 'class-validator';
import { OrderRefV1 } from './common';

/** order-receiving → order-processing: the storefront asked to cancel a non-final order. */
export class OrderCancelRequestedV1 extends OrderRefV1 {
  @IsISO8601() requestedAt: string;
}
