/**
 * Where an idle order's time goes, per step: each service's own metrics
 * (`message_handling_seconds`: the handler, its transaction included, per
 * queue and message; `orders_message_wait_seconds`: from publish to the
 * consumer, per queue), read before and after a phase and differenced.
 */
type Sums = Map<string, { sum: number; count: number }>;

const LINE = /^(message_handling_seconds|orders_message_wait_seconds)_(sum|count)\{([^}]*)\} (\S+)$/;

export async function readSteps(metricsUrls: string[]): Promise<Sums> {
  const sums: Sums = new Map();
  for (const url of metricsUrls) {
    const text = await (await fetch(url)).text();
    for (const line of text.split('\n')) {
      const m = LINE.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries([...m[3].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      const key = m[1] === 'message_handling_seconds' ? `${labels.message} on ${labels.queue}` : `wait for ${labels.queue}`;
      const e = sums.get(key) ?? { sum: 0, count: 0 };
      if (m[2] === 'sum') e.sum += Number(m[4]);
      else e.count += Number(m[4]);
      sums.set(key, e);
    }
  }
  return sums;
}

/** Mean milliseconds per step between two readings, for the steps that ran in between (most handled first). */
export function stepsBetween(before: Sums, after: Sums): Array<{ step: string; meanMs: number; times: number }> {
  const out: Array<{ step: string; meanMs: number; times: number }> = [];
  for (const [step, a] of after) {
    const b = before.get(step) ?? { sum: 0, count: 0 };
    const times = a.count - b.count;
    if (times > 0) out.push({ step, meanMs: Math.round(((a.sum - b.sum) / times) * 10000) / 10, times });
  }
  return out.sort((x, y) => y.times - x.times || x.step.localeCompare(y.step));
}
