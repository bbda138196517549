import { OrderRefV1 } from './common';

/** order-processing → inventory: turn the order's reservation into a sale. */
export class InventoryCommitV1 extends OrderRefV1 {}
