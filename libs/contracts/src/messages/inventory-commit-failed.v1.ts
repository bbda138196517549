import { IsIn } from 'class-validator';
import { OrderRefV1 } from './common';

/** inventory → order-processing: the reservation could not be committed (it expired or was released). */
export class InventoryCommitFailedV1 extends OrderRefV1 {
  @IsIn(['reservation_expired', 'reservation_missing']) reason: 'reservation_expired' | 'reservation_missing';
}
