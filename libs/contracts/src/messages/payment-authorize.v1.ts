import { OrderRefV1 } from './common';

/** order-processing → its payments queue: authorize the order's total at the gateway. Published by the previous version only: still read, so what it left in a queue is handled after an upgrade. */
export class PaymentAuthorizeV1 extends OrderRefV1 {}
