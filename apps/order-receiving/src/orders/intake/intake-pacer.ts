import type { PlacementLane } from '@orders/contracts';
import { Counter } from 'prom-client';

const paced = new Counter({
  name: 'intake_paced_orders_total',
  help: "A heavy tenant's orders that waited for intake while a light tenant was active (INTAKE_HEAVY_PER_SECOND)",
});

export interface PacerLimits {
  /** A heavy tenant's orders stored per second while a light tenant is active (0: no pacing). */
  perSecond: number;
  /** How long after its last order a light tenant counts as active. */
  activeWindowMs: number;
  /** The longest a heavy order waits: after it, it goes on whatever the rate. */
  maxDelayMs: number;
}

/**
 * Intake's share for the heavy tenants (the `bulk` lane) while a light one is
 * active: their orders are stored at most `perSecond` a second (a token
 * bucket, FIFO), so a flood's burst of requests does not take the whole
 * machine while another tenant's order is being accepted and processed. A
 * light tenant's order never waits here, a heavy order waits at most
 * `maxDelayMs` and is then accepted as usual (nothing is refused), and with
 * no light tenant active nothing is paced. One timer, for the next token.
 */
export class IntakePacer {
  private lightAt = Number.NEGATIVE_INFINITY;
  private tokens = 1;
  private at = 0;
  private readonly waiting: Array<{ at: number; go(): void }> = [];
  private timer?: NodeJS.Timeout;

  /** The clock (a test sets its own). */
  now: () => number = Date.now;

  constructor(private readonly limits: PacerLimits) {}

  /** Resolves when an order of this lane may be stored: at once, unless it is heavy and paced. */
  admit(lane: PlacementLane): Promise<void> | undefined {
    const now = this.now();
    if (lane === 'quiet') {
      this.lightAt = now;
      return undefined;
    }
    if (!this.pacing(now)) {
      this.release(now, true);
      return undefined;
    }
    this.refill(now);
    if (this.waiting.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    paced.inc();
    return new Promise<void>((go) => {
      this.waiting.push({ at: now, go });
      this.arm();
    });
  }

  /** Heavy orders waiting now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Lets every waiting order go (shutdown). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.release(this.now(), true);
  }

  private pacing(now: number): boolean {
    return this.limits.perSecond > 0 && now - this.lightAt <= this.limits.activeWindowMs;
  }

  private refill(now: number): void {
    this.tokens = Math.min(1, this.tokens + ((now - this.at) * this.limits.perSecond) / 1000);
    this.at = now;
  }

  /** Lets go the waiting orders a token is there for, those that waited maxDelayMs, or all (`all`). */
  private release(now: number, all = false): void {
    this.refill(now);
    while (this.waiting.length > 0) {
      const first = this.waiting[0];
      if (!all && this.tokens < 1 && now - first.at < this.limits.maxDelayMs) break;
      if (!all && this.tokens >= 1) this.tokens -= 1;
      this.waiting.shift();
      first.go();
    }
  }

  private arm(): void {
    if (this.timer || this.waiting.length === 0) return;
    const forToken = ((1 - this.tokens) * 1000) / this.limits.perSecond;
    const forDelay = this.waiting[0].at + this.limits.maxDelayMs - this.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = this.now();
      this.release(now, !this.pacing(now));
      this.arm();
    }, Math.max(1, Math.ceil(Math.min(forToken, forDelay)))); // not unref'd: the orders waiting are owed an answer
  }
}
