import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createTestDatabase, TEST_RABBITMQ_URL, uniqueName } from '@orders/testing';
import * as amqp from 'amqplib';
import { freePort } from '../system';

export interface Round {
  target: 'order-receiving' | 'reference';
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

/** One autocannon round of POST /orders, each request with its own Idempotency-Key. */
export async function intakeRound(target: Round['target'], port: number, body: string, seconds: number, connections: number, keyPrefix: string): Promise<Round> {
  let n = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/orders',
        headers: { authorization: 'Bearer demo-key', 'content-type': 'application/json' },
        body,
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': `${keyPrefix}-${n++}` } }),
      },
    ],
  });
  const ok = result['2xx'];
  return {
    target,
    reqPerSec: Math.round(ok / seconds),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** The bare reference intake (reference-intake.ts) as its own process, with its own database and queue. */
export async function startReference(): Promise<{ port: number; stop(): Promise<void> }> {
  const db = await createTestDatabase('bench_ref');
  const queue = uniqueName('bench_ref').toLowerCase();
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, 'reference-intake.js')], {
    env: { ...process.env, DATABASE_URL: db.url, RABBITMQ_URL: TEST_RABBITMQ_URL, QUEUE: queue, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`reference intake exited (${code})`)));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) resolve();
    });
  });
  return {
    port,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await db.drop();
      const conn = await amqp.connect(TEST_RABBITMQ_URL);
      const ch = await conn.createChannel();
      await ch.deleteQueue(queue);
      await conn.close();
    },
  };
}

/** Sum over rounds of one target: requests per second overall, the median round's p50 and the worst round's p99. */
export function summarize(rounds: Round[], target: Round['target']): { reqPerSec: number; p50Ms: number; p99Ms: number; non2xx: number; errors: number } {
  const rs = rounds.filter((r) => r.target === target);
  const sorted = (f: (r: Round) => number) => rs.map(f).sort((a, b) => a - b);
  return {
    reqPerSec: Math.round(rs.reduce((a, r) => a + r.reqPerSec, 0) / rs.length),
    p50Ms: sorted((r) => r.p50Ms)[Math.floor(rs.length / 2)],
    p99Ms: Math.max(...rs.map((r) => r.p99Ms)),
    non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
    errors: rs.reduce((a, r) => a + r.errors, 0),
  };
}
