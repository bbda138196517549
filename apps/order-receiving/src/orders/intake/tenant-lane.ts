import type { PlacementLane } from '@orders/contracts';

/**
 * The admission lane of a new order (order.placed.v1), from its tenant's
 * recent volume on this instance: `quiet` for a tenant placing a handful of
 * orders, `bulk` once it placed more than BULK_AFTER over the current and
 * the previous window. order-processing consumes both lanes side by side,
 * so another tenant's new order never queues behind a flood's placements,
 * on any kind of queue.
 */
export class TenantLane {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private windowStart: number;

  constructor(private readonly windowMs = 10000, private readonly bulkAfter = BULK_AFTER, now = Date.now()) {
    this.windowStart = now;
  }

  /** Counts one more order for the tenant and returns its lane. */
  next(tenantId: string, now = Date.now()): PlacementLane {
    const elapsed = now - this.windowStart;
    if (elapsed >= this.windowMs) {
      this.previous = elapsed >= 2 * this.windowMs ? new Map() : this.current;
      this.current = new Map();
      this.windowStart = now;
    }
    const n = (this.current.get(tenantId) ?? 0) + 1;
    this.current.set(tenantId, n);
    return n + (this.previous.get(tenantId) ?? 0) > this.bulkAfter ? 'bulk' : 'quiet';
  }
}

/** Orders within one or two windows after which a tenant's new orders go to the bulk lane. */
export const BULK_AFTER = 50;
