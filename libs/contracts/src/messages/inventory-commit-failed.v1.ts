import { IsIn } from 'class-validator';
import { OrderRefV1 } from './common';

/** inventory → order-processing: the reservation could not be committed (it expired or was released). Published by the previous version only: still read, so what it left in a queue is handled after an upgrade. */
export class InventoryCommitFailedV1 extends OrderRefV1 {
  @IsIn(['reservation_expired', 'reservation_missing']) reason: 'reservation_expired' | 'reservation_missing';
}
