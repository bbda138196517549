import { OrderRefV1 } from './common';

/** inventory → order-processing: the reservation became a sale. Published by the previous version only: still read, so what it left in a queue is handled after an upgrade. */
export class InventoryCommittedV1 extends OrderRefV1 {}
