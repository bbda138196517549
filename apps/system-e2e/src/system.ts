import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createTestDatabase, deleteBrokerTopology, TEST_RABBITMQ_URL, TestDatabase, uniqueName } from '@orders/testing';

/**
 * The whole system as separate processes, exactly as deployed: used by the
 * end-to-end tests, the benchmark and `npm start` (tools/dev-start.mjs).
 */
export const SERVICE_NAMES = ['mail-catcher', 'payment-gateway-sim', 'inventory', 'order-processing', 'notification', 'order-receiving', 'storefront-demo'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const DEFAULT_PORTS: Record<ServiceName, number> = {
  'mail-catcher': 8025,
  'payment-gateway-sim': 4000,
  inventory: 3001,
  'order-processing': 3003,
  notification: 3002,
  'order-receiving': 3000,
  'storefront-demo': 8080,
};

/** The workspace root (this file runs from dist/ or, in tests, from dist-test/src/). */
export const ROOT = ((): string => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const ADMIN_TOKEN = 'dev-admin-token';

/**
 * V8 heap bounds every service runs with (the Dockerfile's CMD and each
 * app's `serve` script say the same): a small young generation and a capped
 * old one keep a service's RSS near 150 MiB under a flood instead of letting
 * the heap grow because it may. order-receiving's young generation is
 * larger (8 MiB semi-spaces instead of 2): every request allocates its body,
 * DTO and answer, and with 2 MiB a burst of requests kept it collecting
 * (GC was 17 % of its CPU under intake); the intake ratio rose from 0.85 to
 * 0.94-1.02, for about 12 MiB of RSS.
 * Services run without --enable-source-maps: it loads the source maps of
 * every dependency that ships them (about 16 MiB per service); stack traces
 * then point at the compiled dist/*.js (NODE_OPTIONS=--enable-source-maps
 * maps them back to TypeScript when debugging).
 */
export function serviceHeapFlags(n: ServiceName): string[] {
  return ['--max-old-space-size=128', `--max-semi-space-size=${n === 'order-receiving' ? 8 : 2}`];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface SystemOptions {
  /** Fixed ports (npm start); otherwise free ones are picked. */
  ports?: Partial<Record<ServiceName, number>>;
  smtpPort?: number;
  /** An existing database (npm start); otherwise a throw-away one is created and dropped. */
  databaseUrl?: string;
  mqPrefix?: string;
  /** Extra environment for every service (e.g. RETRY_DELAYS_MS). */
  env?: Record<string, string>;
  /** Per-service extra environment. */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  onLine?: (service: ServiceName, line: string) => void;
  readyTimeoutMs?: number;
  /**
   * Run the services in their own process group (npm start), so a terminal's Ctrl-C reaches only the
   * supervisor, which then stops them in order; they are killed if the supervisor exits.
   */
  ownProcessGroup?: boolean;
}

export class System {
  readonly ports = {} as Record<ServiceName, number>;
  smtpPort = 0;
  prefix = '';
  databaseUrl = '';
  /** The gateway simulator's journal of a throw-away run (removed by stop()); npm start keeps the simulator's default. */
  simStateFile?: string;
  private db?: TestDatabase;
  private readonly procs = new Map<ServiceName, ChildProcess>();
  private readonly replicas: Array<{ name: ServiceName; child: ChildProcess; url: string }> = [];
  private readonly logs = new Map<ServiceName, string[]>();
  private stopping = false;
  onUnexpectedExit?: (service: ServiceName, code: number | null, signal: string | null) => void;

  private readonly spawned = new Set<ChildProcess>();

  constructor(private readonly o: SystemOptions = {}) {
    if (o.ownProcessGroup) process.once('exit', () => this.spawned.forEach((c) => c.kill('SIGKILL')));
  }

  static async start(o: SystemOptions = {}): Promise<System> {
    const s = new System(o);
    await s.init();
    await Promise.all(SERVICE_NAMES.map((n) => s.launch(n)));
    await Promise.all(SERVICE_NAMES.map((n) => s.waitReady(n)));
    return s;
  }

  /** Picks ports, database and queue prefix (called by start()). */
  async init(): Promise<void> {
    for (const n of SERVICE_NAMES) this.ports[n] = this.o.ports?.[n] ?? (await freePort());
    this.smtpPort = this.o.smtpPort ?? (await freePort());
    this.prefix = this.o.mqPrefix ?? uniqueName('e2e').toLowerCase();
    if (this.o.databaseUrl) this.databaseUrl = this.o.databaseUrl;
    else {
      this.db = await createTestDatabase('e2e');
      this.databaseUrl = this.db.url;
      this.simStateFile = join(tmpdir(), `${this.prefix}-gateway-sim.jsonl`);
    }
  }

  url(n: ServiceName): string {
    return `http://127.0.0.1:${this.ports[n]}`;
  }

  env(n: ServiceName): Record<string, string> {
    return {
      DATABASE_URL: this.databaseUrl,
      MQ_PREFIX: this.prefix,
      PORT: String(this.ports[n]),
      SMTP_PORT: String(this.smtpPort),
      SMTP_HOST: '127.0.0.1',
      PAYMENT_GATEWAY_URL: this.url('payment-gateway-sim'),
      // a throw-away run talks to the broker the tests use (TEST_RABBITMQ_URL)
      ...(this.db ? { RABBITMQ_URL: TEST_RABBITMQ_URL } : {}),
      ...(this.simStateFile ? { SIM_STATE_FILE: this.simStateFile } : {}),
      ...this.serviceDefaults(n),
      ...(this.o.env ?? {}),
      ...(this.o.serviceEnv?.[n] ?? {}),
    };
  }

  /** What one service needs to find the others: the demo shop its APIs, order-receiving the demo's origin (CORS). */
  private serviceDefaults(n: ServiceName): Record<string, string> {
    const demo = this.ports['storefront-demo'];
    if (n === 'order-receiving') return { CORS_ORIGINS: `http://127.0.0.1:${demo},http://localhost:${demo}` };
    if (n === 'storefront-demo') {
      return { API_KEY: 'demo-key', ORDERS_API_URL: this.url('order-receiving'), GATEWAY_URL: this.url('payment-gateway-sim'), MAIL_URL: this.url('mail-catcher') };
    }
    return {};
  }

  /** Starts one service process (again). */
  async launch(n: ServiceName): Promise<void> {
    const child = this.spawnService(n, this.env(n));
    this.procs.set(n, child);
    child.on('exit', (code, signal) => {
      if (this.procs.get(n) === child) this.procs.delete(n);
      if (!this.stopping && signal !== 'SIGKILL') this.onUnexpectedExit?.(n, code, signal);
    });
  }

  /** A second (third, …) instance of a service on its own port (a free one unless given), sharing the database and broker; returns its URL once ready. */
  async launchReplica(n: ServiceName, port?: number): Promise<string> {
    const { url, ready } = await this.startReplica(n, port);
    await ready;
    return url;
  }

  /** Starts another instance of a service without waiting: its URL, and a promise that settles when it is ready. */
  async startReplica(n: ServiceName, port?: number): Promise<{ url: string; ready: Promise<void> }> {
    const p = port ?? (await freePort());
    const child = this.spawnService(n, { ...this.env(n), PORT: String(p) });
    const url = `http://127.0.0.1:${p}`;
    this.replicas.push({ name: n, child, url });
    child.on('exit', (code, signal) => {
      if (!this.stopping && signal !== 'SIGKILL') this.onUnexpectedExit?.(n, code, signal);
    });
    return { url, ready: this.waitUrlReady(url, () => child.exitCode === null, n) };
  }

  /** The URLs of every running instance of a service, the first one first. */
  instanceUrls(n: ServiceName): string[] {
    return [this.url(n), ...this.replicas.filter((r) => r.name === n && r.child.exitCode === null).map((r) => r.url)];
  }

  private spawnService(n: ServiceName, env: Record<string, string>): ChildProcess {
    // SERVICE_NODE_ARGS: extra node flags for every service (e.g. --cpu-prof --cpu-prof-dir=… for a profile)
    const nodeArgs = (process.env.SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...serviceHeapFlags(n), ...nodeArgs, join(ROOT, 'apps', n, 'dist', 'main.js')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.o.ownProcessGroup ?? false,
    });
    this.spawned.add(child);
    child.once('exit', () => this.spawned.delete(child));
    const log = this.logs.get(n) ?? [];
    this.logs.set(n, log);
    for (const stream of [child.stdout!, child.stderr!]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          log.push(line);
          if (log.length > 400) log.shift();
          this.o.onLine?.(n, line);
        }
      });
    }
    return child;
  }

  /** The process id of a service's first instance, if it runs. */
  pid(n: ServiceName): number | undefined {
    return this.procs.get(n)?.pid;
  }

  isRunning(n: ServiceName): boolean {
    return this.procs.has(n);
  }

  async waitReady(n: ServiceName): Promise<void> {
    await this.waitUrlReady(this.url(n), () => this.procs.has(n), n);
  }

  private async waitUrlReady(url: string, alive: () => boolean, n: ServiceName): Promise<void> {
    const deadline = Date.now() + (this.o.readyTimeoutMs ?? 90000);
    while (Date.now() < deadline) {
      if (!alive()) throw new Error(`${n} exited before it was ready:\n${this.recentLogs(n)}`);
      try {
        const res = await fetch(`${url}/health/ready`);
        if (res.status === 200) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`${n} not ready in time:\n${this.recentLogs(n)}`);
  }

  recentLogs(n: ServiceName, lines = 40): string {
    return (this.logs.get(n) ?? []).slice(-lines).join('\n');
  }

  /** Kills a service (SIGKILL by default: no shutdown hooks run) and waits until it is gone. */
  async kill(n: ServiceName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.procs.get(n);
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    await exited;
  }

  async restart(n: ServiceName): Promise<void> {
    await this.kill(n, 'SIGTERM');
    await this.launch(n);
    await this.waitReady(n);
  }

  /**
   * Stops every process gracefully (SIGTERM, then SIGKILL after `timeoutMs`) and removes the throw-away
   * database and queues. `inOrder` (npm start) stops one service at a time in reverse start order
   * (SERVICE_NAMES, each service's newest instance first), waiting for each to exit before the next;
   * otherwise all at once (tests).
   */
  async stop(o: { inOrder?: boolean; timeoutMs?: number; onStopped?: (n: ServiceName, url: string) => void } = {}): Promise<void> {
    this.stopping = true;
    const all: Array<{ name: ServiceName; child: ChildProcess; url: string }> = [];
    for (const name of [...SERVICE_NAMES].reverse()) {
      all.push(...this.replicas.filter((r) => r.name === name).reverse());
      const child = this.procs.get(name);
      if (child) all.push({ name, child, url: this.url(name) });
    }
    const timeoutMs = o.timeoutMs ?? 15000;
    if (o.inOrder) {
      for (const p of all) {
        await stopProcess(p.child, timeoutMs);
        o.onStopped?.(p.name, p.url);
      }
    } else await Promise.all(all.map((p) => stopProcess(p.child, timeoutMs)));
    if (this.db) {
      await this.db.drop();
      // retry tiers of every service, plus order-processing's payment wait (defer) tiers
      const delays = [this.o.env?.RETRY_DELAYS_MS ?? '1000,5000,30000', this.o.env?.PAYMENT_WAIT_DELAYS_MS ?? '1000,2000,5000,10000,20000,30000'];
      await deleteBrokerTopology(this.prefix, delays.join(',').split(',').map(Number));
    }
    if (this.simStateFile) rmSync(this.simStateFile, { force: true });
  }
}

/** SIGTERM, then SIGKILL if the process has not exited within timeoutMs; resolves once it has exited. */
async function stopProcess(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), timeoutMs)));
  if ((await Promise.race([exited, late])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

/** Small client helpers for the storefront and admin APIs. */
export class Api {
  constructor(readonly sys: System, readonly apiKey = 'demo-key') {}

  async putProduct(sku: string, body: { name: string; priceCents: number; currency: string; stock: number }): Promise<void> {
    const res = await fetch(`${this.sys.url('inventory')}/products/${sku}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`PUT product ${sku}: ${res.status} ${await res.text()}`);
  }

  async product(sku: string): Promise<{ stock: number; reserved: number; available: number }> {
    const res = await fetch(`${this.sys.url('inventory')}/products/${sku}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return (await res.json()) as { stock: number; reserved: number; available: number };
  }

  async placeOrder(body: unknown, key = `k-${Math.random().toString(36).slice(2)}`, headers: Record<string, string> = {}) {
    const res = await fetch(`${this.sys.url('order-receiving')}/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json', 'idempotency-key': key, ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> & { id: string; links: { self: string; events: string } } };
  }

  async order(id: string): Promise<Record<string, unknown> & { status: string; history: Array<{ status: string }>; totals: { totalCents: number } | null }> {
    const res = await fetch(`${this.sys.url('order-receiving')}/orders/${id}`, { headers: { authorization: `Bearer ${this.apiKey}` } });
    return (await res.json()) as Record<string, unknown> & { status: string; history: Array<{ status: string }>; totals: { totalCents: number } | null };
  }

  async mail(): Promise<Array<{ ID: string; Subject: string; To: Array<{ Address: string }> }>> {
    const res = await fetch(`${this.sys.url('mail-catcher')}/api/v1/messages?limit=1000`);
    return ((await res.json()) as { messages: Array<{ ID: string; Subject: string; To: Array<{ Address: string }> }> }).messages;
  }
}

export function orderBody(o: { sku?: string; quantity?: number; token?: string; email?: string; couponCode?: string; items?: Array<{ sku: string; quantity: number }> } = {}) {
  return {
    customer: { id: 'cust-1', email: o.email ?? 'ada@example.com', name: 'Ada Lovelace' },
    items: o.items ?? [{ sku: o.sku ?? 'SKU-1', quantity: o.quantity ?? 1 }],
    ...(o.couponCode ? { couponCode: o.couponCode } : {}),
    shippingAddress: { line1: '1 Analytical Way', city: 'London', postalCode: 'N1 9GU', country: 'GB' },
    payment: { token: o.token ?? 'tok_ok' },
  };
}
