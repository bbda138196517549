/**
 * Writes of many callers, one statement: what arrives while a write is in
 * flight goes together in the next one (group commit; alone, a write goes at
 * once, or, with `gatherMs`, after gathering what else arrives that long).
 * Each caller's promise settles with its statement.
 * For writes that may be late but not lost to the caller: every caller
 * awaits its own.
 */
export class GroupWrite<T> {
  private waiting: Array<{ item: T; resolve: () => void; reject: (e: unknown) => void }> = [];
  private running = false;

  constructor(private readonly write: (items: readonly T[]) => Promise<void>, private readonly maxItems = 500, private readonly gatherMs = 0) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      void this.next();
    });
  }

  private async next(): Promise<void> {
    if (this.running || this.waiting.length === 0) return;
    this.running = true;
    if (this.gatherMs > 0) await new Promise((r) => setTimeout(r, this.gatherMs));
    const group = this.waiting.splice(0, this.maxItems);
    try {
      await this.write(group.map((g) => g.item));
      for (const g of group) g.resolve();
    } catch (e) {
      for (const g of group) g.reject(e);
    } finally {
      this.running = false;
      void this.next();
    }
  }
}
