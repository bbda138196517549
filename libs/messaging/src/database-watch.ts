/** Pauses between probes of a database that is down: quick at first, then once a second. */
const PROBE_PAUSES_MS = [100, 250, 500, 1000];

/**
 * Waits for the database to come back, for every handler of the process at
 * once: one probe loop (a trivial query) runs while anyone waits, and every
 * waiter resumes as soon as one probe succeeds. A handler whose database is
 * down holds its delivery (unacknowledged, so the prefetch stops the flow)
 * and runs again the moment the database answers, instead of parking it in
 * a delay queue it would come back from only after that delay.
 */
export class DatabaseWatch {
  private readonly waiters = new Set<(back: boolean) => void>();
  private probing = false;

  constructor(private readonly probe: () => Promise<unknown>, private readonly isStopping: () => boolean) {}

  /** True once a probe succeeded; false at `deadline` (epoch ms) or when the service stops. */
  whenBack(deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (back: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(back);
      };
      const timer = setTimeout(() => done(false), Math.max(0, deadline - Date.now()));
      this.waiters.add(done);
      void this.loop();
    });
  }

  /** Handlers waiting now. */
  get waiting(): number {
    return this.waiters.size;
  }

  private async loop(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      for (let i = 0; this.waiters.size > 0; i++) {
        await new Promise((r) => setTimeout(r, PROBE_PAUSES_MS[Math.min(i, PROBE_PAUSES_MS.length - 1)]));
        if (this.isStopping()) return this.release(false);
        const back = await this.probe().then(() => true, () => false);
        if (back) return this.release(true);
      }
    } finally {
      this.probing = false;
    }
  }

  private release(back: boolean): void {
    for (const w of [...this.waiters]) w(back);
  }
}
