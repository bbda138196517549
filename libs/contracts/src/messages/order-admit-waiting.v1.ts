import { IsString, Length } from 'class-validator';

/**
 * order-processing → its own order-processing.placed queue: one of the
 * tenant's orders in flight ended, so its oldest waiting orders may start.
 * Published by the previous version only: still read, so what it left in a
 * queue is handled after an upgrade.
 */
export class OrderAdmitWaitingV1 {
  @IsString() @Length(1, 64) tenantId: string;
}
