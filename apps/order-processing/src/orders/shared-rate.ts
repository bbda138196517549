/**
 * The start rate of a tenant while shared (TenantAdmission's budget), fitted
 * to the machine by what the other tenants' orders see: a fixed rate is
 * headroom on one machine and saturation on a slower one. Fed with every
 * quiet-lane order that ran here (placed → final):
 * - alone (no other tenant active), the fastest of them are the baseline:
 *   it follows the minimum, drifting up slowly (a lasting change of normal,
 *   a slower gateway say, becomes the new baseline after a few hundred orders);
 * - shared, one that took over SLOW × the baseline cuts the rate by a fifth
 *   (never below `min`); one within OK × the baseline, or any alone, gives
 *   back a twentieth of `max` (never above it).
 * Without a baseline yet it stays at `max`. `min` = `max`: a fixed rate.
 */
export class SharedRate {
  static readonly SLOW = 2;
  static readonly OK = 1.5;
  private static readonly DRIFT = 1.002;

  private current: number;
  private baselineMs?: number;

  constructor(private readonly max: number, private readonly min: number) {
    this.min = Math.min(min, max);
    this.current = max;
  }

  /** Starts per second while shared. */
  get rate(): number {
    return this.current;
  }

  get baseline(): number | undefined {
    return this.baselineMs;
  }

  /** A quiet-lane order that ran here ended `ms` after it was placed; `shared`: another tenant was active meanwhile. */
  observe(ms: number, shared: boolean): void {
    if (!shared) {
      this.baselineMs = this.baselineMs === undefined ? ms : Math.min(ms, this.baselineMs * SharedRate.DRIFT);
      this.raise();
      return;
    }
    if (this.baselineMs === undefined) return;
    if (ms > SharedRate.SLOW * this.baselineMs) this.current = Math.max(this.min, this.current * 0.8);
    else if (ms <= SharedRate.OK * this.baselineMs) this.raise();
  }

  private raise(): void {
    this.current = Math.min(this.max, this.current + this.max / 20);
  }
}
