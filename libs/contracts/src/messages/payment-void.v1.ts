import { OrderRefV1 } from './common';

/** order-processing → its payments queue: void the order's authorization (also one whose id was never learned: found through the gateway idempotency key). Published by the previous version only: still read, so what it left in a queue is handled after an upgrade. */
export class PaymentVoidV1 extends OrderRefV1 {}
