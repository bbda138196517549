import { OrderRefV1 } from './common';

/** order-processing → its payments queue: authorize the order's total at the gateway. */
export class PaymentAuthorizeV1 extends OrderRefV1 {}
