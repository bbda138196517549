import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { OrderProcessingEnv } from '../config';

interface Held {
  go(): void;
  timer: NodeJS.Timeout;
}

interface TenantHolds {
  /** Its last placement here could not start (no room, or orders waiting before it). */
  full: boolean;
  held: Held[];
}

let heldNow = 0;
new Gauge({
  name: 'orders_bulk_placements_held',
  help: 'Placements of the bulk lane held in the broker (unacknowledged) because their tenant has no room: stored when one of its orders ends here, or after TENANT_BULK_HOLD_MS',
  collect() {
    this.set(heldNow);
  },
});

/**
 * A flood's placements wait in the broker, not as rows. A placement of the
 * bulk lane whose tenant had no room at its last placement here is held
 * (its delivery unacknowledged, within the queue's prefetch) until one of
 * that tenant's orders ends here with room to spare, or
 * TENANT_BULK_HOLD_MS passes; then it is stored as before (started if there
 * is room, else waiting). Storing thousands of waiting orders while the
 * tenant can start only a few is work the machine does while another
 * tenant's order waits for it; held, the flood costs the broker a queue
 * and order-processing nothing until its orders can start, and most of
 * them start in the step that stores them.
 *
 * Only this instance's view: an order that ends on another instance
 * releases nothing here, so held placements go on after the hold (they
 * are then stored waiting, and started by whichever instance has room).
 * A cancel meanwhile is remembered as for any placement still on its way.
 */
@Injectable()
export class BulkHolds implements BeforeApplicationShutdown {
  private readonly tenants = new Map<string, TenantHolds>();
  private stopping = false;

  constructor(private readonly cfg: OrderProcessingEnv) {}

  /** Resolves when a bulk placement of the tenant may be stored: at once unless the tenant is full here. */
  turn(tenantId: string): Promise<void> {
    const t = this.tenants.get(tenantId);
    if (this.stopping || !t?.full || this.cfg.TENANT_BULK_HOLD_MS === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const h: Held = {
        go: () => {
          clearTimeout(h.timer);
          heldNow--;
          resolve();
        },
        timer: setTimeout(() => {
          const i = t.held.indexOf(h);
          if (i >= 0) t.held.splice(i, 1);
          h.go();
        }, this.cfg.TENANT_BULK_HOLD_MS),
      };
      heldNow++;
      t.held.push(h);
    });
  }

  /** A placement of the tenant was stored: started (`started`), or left waiting (the tenant is full). */
  stored(tenantId: string, started: boolean): void {
    const t = this.tenants.get(tenantId) ?? { full: false, held: [] };
    t.full = !started;
    if (t.held.length === 0 && !t.full) this.tenants.delete(tenantId);
    else this.tenants.set(tenantId, t);
    if (started) this.release(tenantId, 1); // there may be more room: the next one finds out
  }

  /** `n` of the tenant's held placements may go (one of its orders ended here with room left for them), oldest first. */
  release(tenantId: string, n: number): void {
    const t = this.tenants.get(tenantId);
    if (!t) return;
    for (const h of t.held.splice(0, n)) h.go();
  }

  /** How many placements are held now, per tenant (tests, diagnostics). */
  heldCount(tenantId: string): number {
    return this.tenants.get(tenantId)?.held.length ?? 0;
  }

  /** Held placements go on at once (before the consumers stop, which waits for handlers in flight). */
  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const t of this.tenants.values()) for (const h of t.held.splice(0)) h.go();
  }
}
