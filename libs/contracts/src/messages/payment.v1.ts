import { OrderRefV1 } from './common';

/**
 * order-processing's own payment steps. They travel through the broker so each
 * gateway call is its own retried, de-duplicated unit of work, on its own
 * queue with its own concurrency, apart from the saga.
 */
export class PaymentAuthorizeV1 extends OrderRefV1 {}
export class PaymentCaptureV1 extends OrderRefV1 {}
export class PaymentVoidV1 extends OrderRefV1 {}
