import type { PlacementLane } from '@orders/contracts';

/**
 * The admission lane of a new order (order.placed.v1), from its tenant's
 * recent volume on this instance (the current and the previous window):
 * `bulk` for the heavy tenants, `quiet` for the rest. A tenant is heavy once
 * it placed more than BULK_AFTER orders and at least 1/HEAVY_RATIO as many as
 * the busiest other tenant: a flood alone is heavy; beside a flood, a tenant
 * placing a steady few per second is not (it placed far fewer), two floods
 * are both heavy. order-processing consumes both lanes side by side, so a
 * light tenant's new order never queues behind a heavy tenant's placements,
 * on any kind of queue.
 */
export class TenantLane {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private windowStart: number;
  /** The two busiest tenants over both windows (the busiest other than any tenant is one of them). */
  private top: Array<{ tenantId: string; n: number }> = [];

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
      this.top = [...this.previous].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([t, n]) => ({ tenantId: t, n }));
    }
    const mine = (this.current.get(tenantId) ?? 0) + 1;
    this.current.set(tenantId, mine);
    const n = mine + (this.previous.get(tenantId) ?? 0);
    this.noteCount(tenantId, n);
    if (n <= this.bulkAfter) return 'quiet';
    const busiestOther = this.top.find((t) => t.tenantId !== tenantId)?.n ?? 0;
    return n * HEAVY_RATIO >= busiestOther ? 'bulk' : 'quiet';
  }

  private noteCount(tenantId: string, n: number): void {
    const at = this.top.findIndex((t) => t.tenantId === tenantId);
    if (at >= 0) this.top[at].n = n;
    else if (this.top.length < 2 || n > this.top[1].n) this.top[Math.min(this.top.length, 1)] = { tenantId, n };
    if (this.top.length === 2 && this.top[1].n > this.top[0].n) this.top.reverse();
  }
}

/** Orders within one or two windows after which a tenant's new orders may go to the bulk lane. */
export const BULK_AFTER = 50;
/** A tenant past BULK_AFTER is heavy unless the busiest other tenant placed more than this many times as many. */
export const HEAVY_RATIO = 4;
