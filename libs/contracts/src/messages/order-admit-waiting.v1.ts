import { IsString, Length } from 'class-validator';

/**
 * order-processing → its own order-processing.placed queue: one of the
 * tenant's orders in flight ended, so its oldest waiting orders may start.
 * It travels behind any cancel already queued there (see ADMIT_PRIORITY), so
 * a cancel accepted while an order waited is handled before that order starts.
 */
export class OrderAdmitWaitingV1 {
  @IsString() @Length(1, 64) tenantId: string;
}
