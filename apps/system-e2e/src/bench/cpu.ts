import { cpuMs } from '../proc-stats';

/**
 * CPU ms of groups of processes over a window, per process: each pid counts
 * from its CPU time at the start (from zero if it appeared later) to the last
 * time it was seen. Sampled every second, so a process that exits in the
 * window keeps what it used up to its last sample, and never takes away what
 * it used before the window. (Summing a group's pids at start and at end
 * instead loses the whole lifetime CPU of every process that exits in
 * between: PostgreSQL backends of pools closing idle connections, or of
 * other users' tests, made PostgreSQL's figure too low.)
 */
export type ProcessList = () => Array<[string, number[]]> | Promise<Array<[string, number[]]>>;

export class CpuRecorder {
  private readonly base = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly label = new Map<number, string>();
  private readonly groups = new Set<string>();
  private timer?: NodeJS.Timeout;
  private sampling: Promise<void> = Promise.resolve();

  private constructor(private readonly list: ProcessList) {}

  static async start(list: ProcessList, everyMs = 1000): Promise<CpuRecorder> {
    const r = new CpuRecorder(list);
    await r.sample(true);
    r.timer = setInterval(() => (r.sampling = r.sampling.then(() => r.sample(false)).catch(() => undefined)), everyMs);
    return r;
  }

  private async sample(first: boolean): Promise<void> {
    for (const [l, pids] of await this.list()) {
      this.groups.add(l);
      for (const pid of pids) {
        if (this.label.has(pid)) continue;
        this.label.set(pid, l);
        this.base.set(pid, first ? cpuMs([pid]) : 0);
      }
    }
    for (const pid of this.label.keys()) this.last.set(pid, Math.max(this.last.get(pid) ?? 0, cpuMs([pid]))); // 0 once gone: the max keeps its last
  }

  /** CPU ms per group since the start, sampled now. */
  async snapshot(): Promise<Record<string, number>> {
    await this.sampling;
    await this.sample(false);
    const out: Record<string, number> = Object.fromEntries([...this.groups].map((g) => [g, 0]));
    for (const [pid, l] of this.label) out[l] = (out[l] ?? 0) + Math.max(0, (this.last.get(pid) ?? 0) - (this.base.get(pid) ?? 0));
    return out;
  }

  async stop(): Promise<Record<string, number>> {
    clearInterval(this.timer);
    return this.snapshot();
  }
}
