import { Agent, request } from 'node:http';

/** Small helpers every bench phase shares: a POST /orders over keep-alive, a bounded pool of async work, percentiles. */
export interface Answer {
  status: number;
  ms: number;
  body: string;
  /** When the request was sent (epoch ms): splits an order's time into intake, processing and push. */
  sentAt: number;
}

export function post(agent: Agent, port: number, body: unknown, key: string, extra: Record<string, string> = {}, apiKey = 'demo-key'): Promise<Answer> {
  const raw = JSON.stringify(body);
  const started = process.hrtime.bigint();
  const sentAt = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1', port, path: '/orders', method: 'POST', agent,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': key, 'content-length': Buffer.byteLength(raw), ...extra },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6, body: data, sentAt }));
      },
    );
    req.on('error', reject);
    req.end(raw);
  });
}

/** Runs fn(0 … n-1) with at most `concurrency` at a time; results in index order. */
export async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
export const r1 = (x: number): number => Math.round(x * 10) / 10;
export const r2 = (x: number): number => Math.round(x * 100) / 100;
