import { OrderRefV1 } from './common';

/** inventory → order-processing: the reservation became a sale. */
export class InventoryCommittedV1 extends OrderRefV1 {}
