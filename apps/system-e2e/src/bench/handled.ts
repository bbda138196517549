/**
 * The services' own count of deliveries they finished, per queue
 * (`messages_handled_total` on each /metrics: every delivery ends once as
 * ack, retry, defer, drop or dead_letter; `retry_in_place` is a repeat
 * inside one delivery and `batch_split` no delivery, both left out): the
 * cross-check of the broker's delivery counters.
 */
const LINE = /^messages_handled_total\{([^}]*)\} (\S+)$/;
const FINAL_OUTCOMES = new Set(['ack', 'retry', 'defer', 'drop', 'dead_letter']);

export async function readHandled(metricsUrls: string[]): Promise<Record<string, number>> {
  const perQueue: Record<string, number> = {};
  for (const url of metricsUrls) {
    const text = await (await fetch(url)).text();
    for (const line of text.split('\n')) {
      const m = LINE.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (!FINAL_OUTCOMES.has(labels.outcome ?? '')) continue;
      perQueue[labels.queue] = (perQueue[labels.queue] ?? 0) + Number(m[2]);
    }
  }
  return perQueue;
}

/** Deliveries per order each queue's consumers reported between two readings (biggest first). */
export function handledPerOrder(before: Record<string, number>, after: Record<string, number>, orders: number): { total: number; perQueue: Array<{ queue: string; perOrder: number }> } {
  const perQueue = Object.entries(after)
    .map(([queue, n]) => ({ queue, perOrder: Math.round(((n - (before[queue] ?? 0)) / orders) * 100) / 100 }))
    .filter((x) => x.perOrder !== 0)
    .sort((a, b) => b.perOrder - a.perOrder || a.queue.localeCompare(b.queue));
  const total = Object.entries(after).reduce((s, [q, n]) => s + n - (before[q] ?? 0), 0);
  return { total: Math.round((total / orders) * 100) / 100, perQueue };
}
