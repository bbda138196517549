import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createTestDatabase, deleteBrokerTopology, eventually, TestDatabase, uniqueName } from '@orders/testing';
import { freePort, ROOT, SERVICE_NAMES, ServiceName } from './system';

/**
 * `REPLICAS=2 npm start` (tools/dev-start.mjs): two instances of each of the four services, instance i
 * on its port + 100·i, every instance ready and listed; a terminal's Ctrl-C (SIGINT to the whole
 * foreground process group) stops them one at a time in reverse start order, then exits.
 */
const SCALED: ServiceName[] = ['inventory', 'order-processing', 'notification', 'order-receiving'];
let db: TestDatabase;
let prefix: string;
let devStart: ChildProcess;
let output = '';
const ports = {} as Record<ServiceName, number>;

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** Ports given out so far (each pair's two, the SMTP port): a free port is not free if another service got it. */
const taken = new Set<number>();

/** A free port whose +100 neighbour is free too (the second instance's), neither given to another service. */
async function freePair(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p + 100 < 65536 && !taken.has(p) && !taken.has(p + 100) && (await canListen(p + 100))) {
      taken.add(p).add(p + 100);
      return p;
    }
  }
}

async function freeSingle(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (!taken.has(p)) return taken.add(p), p;
  }
}

const envName = (n: ServiceName) => `${n.toUpperCase().replace(/-/g, '_')}_PORT`;
const exited = () => new Promise<number | null>((r) => (devStart.exitCode !== null ? r(devStart.exitCode) : devStart.once('exit', (code) => r(code))));

before(async () => {
  db = await createTestDatabase('devstart');
  prefix = uniqueName('devstart').toLowerCase();
  for (const n of SERVICE_NAMES) ports[n] = await freePair();
  devStart = spawn(process.execPath, [join(ROOT, 'tools', 'dev-start.mjs')], {
    env: {
      ...process.env,
      REPLICAS: '2',
      DATABASE_URL: db.url,
      MQ_PREFIX: prefix,
      SMTP_PORT: String(await freeSingle()),
      LOG_LEVEL: 'warn',
      ...Object.fromEntries(SERVICE_NAMES.map((n) => [envName(n), String(ports[n])])),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, like a terminal's foreground job
  });
  devStart.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  devStart.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
});

after(async () => {
  if (devStart && devStart.exitCode === null && devStart.signalCode === null) {
    process.kill(-devStart.pid!, 'SIGTERM');
    await exited();
  }
  await db?.drop();
  if (prefix) await deleteBrokerTopology(prefix, [1000, 5000, 30000, 2000, 10000, 20000]);
});

test('REPLICAS=2: two ready instances of each service on port and port + 100, every URL printed; Ctrl-C stops them in reverse start order', async () => {
  await eventually(() => output.includes('Ctrl-C stops everything') || devStart.exitCode !== null, 150000, 200, 'ready:');
  assert.equal(devStart.exitCode, null, `npm start is running:\n${output.slice(-3000)}`);
  const ready = output.slice(output.indexOf('ready:'));
  for (const n of SCALED) {
    for (const port of [ports[n], ports[n] + 100]) {
      assert.ok(ready.includes(`http://localhost:${port}`), `${n} instance on ${port} listed`);
      assert.equal((await fetch(`http://127.0.0.1:${port}/health/ready`)).status, 200, `${n} on ${port} ready`);
    }
  }

  process.kill(-devStart.pid!, 'SIGINT'); // what Ctrl-C sends
  assert.equal(await exited(), 0);
  const stopped = [...output.matchAll(/^stopped (\S+) http:\/\/127\.0\.0\.1:(\d+)$/gm)].map((m) => [m[1], Number(m[2])]);
  const expected = [...SERVICE_NAMES].reverse().flatMap((n) => (SCALED.includes(n) ? [[n, ports[n] + 100], [n, ports[n]]] : [[n, ports[n]]]));
  assert.deepEqual(stopped, expected, 'one at a time, newest first, in reverse start order');
  for (const n of SCALED) {
    for (const port of [ports[n], ports[n] + 100]) {
      await assert.rejects(fetch(`http://127.0.0.1:${port}/health/live`), `${n} on ${port} is gone`);
    }
  }
});
