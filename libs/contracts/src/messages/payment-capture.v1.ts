import { OrderRefV1 } from './common';

/** order-processing → its payments queue: capture a confirmed order's authorization. */
export class PaymentCaptureV1 extends OrderRefV1 {}
