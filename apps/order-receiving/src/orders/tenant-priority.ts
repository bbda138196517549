import { PLACEMENT_MAX_PRIORITY } from '@orders/contracts';

/**
 * The AMQP priority of a new order (order.placed.v1), from its tenant's
 * recent volume on this instance: a tenant placing a handful of orders gets
 * the highest priority, one flooding the platform ever lower ones. The
 * admission queue in order-processing serves higher priorities first, so a
 * flood delays another tenant's order by little. Counted over the current
 * and the previous window.
 */
export class TenantPriority {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private windowStart: number;

  constructor(private readonly windowMs = 10000, now = Date.now()) {
    this.windowStart = now;
  }

  /** Counts one more order for the tenant and returns its priority (PLACEMENT_MAX_PRIORITY, 8, highest … 1; 9 is for cancels). */
  next(tenantId: string, now = Date.now()): number {
    const elapsed = now - this.windowStart;
    if (elapsed >= this.windowMs) {
      this.previous = elapsed >= 2 * this.windowMs ? new Map() : this.current;
      this.current = new Map();
      this.windowStart = now;
    }
    const n = (this.current.get(tenantId) ?? 0) + 1;
    this.current.set(tenantId, n);
    return priorityFor(n + (this.previous.get(tenantId) ?? 0));
  }
}

/** Orders in the last one or two windows → priority. */
export function priorityFor(recent: number): number {
  if (recent <= 20) return PLACEMENT_MAX_PRIORITY;
  if (recent <= 100) return 7;
  if (recent <= 500) return 5;
  if (recent <= 2500) return 3;
  return 1;
}
