import { OrderRefV1 } from './common';

/** order-processing → its payments queue: capture a confirmed order's authorization. Published by the previous version only: still read, so what it left in a queue is handled after an upgrade. */
export class PaymentCaptureV1 extends OrderRefV1 {}
