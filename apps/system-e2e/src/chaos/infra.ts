import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function waitPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (Date.now() > deadline) throw new Error(`${what} (port ${port}) not back within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export type InfraPart = 'postgres' | 'rabbitmq';

/**
 * Stops and starts the PostgreSQL cluster and the RabbitMQ node the run uses,
 * and remembers what it stopped so restoreAll() (called from finally and
 * signal handlers) always starts it again.
 */
export class Infra {
  private readonly down = new Set<InfraPart>();

  constructor(private readonly o: { pgCluster: string; pgPort: number; rabbitNode: string; rabbitPort: number }) {}

  private pgctl(...args: string[]): Promise<unknown> {
    const [version, name] = this.o.pgCluster.split('/');
    return run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, ...args], { timeout: 120000 });
  }

  private rabbitctl(...args: string[]): Promise<unknown> {
    return run('rabbitmqctl', [...(this.o.rabbitNode ? ['-n', this.o.rabbitNode] : []), ...args], { timeout: 120000 });
  }

  /** `stop -m immediate`: every backend killed at once, no checkpoint (a crash, recovered on start). */
  async pgStop(mode: 'fast' | 'immediate'): Promise<void> {
    this.down.add('postgres');
    await this.pgctl('stop', '-m', mode);
  }

  async pgStart(): Promise<void> {
    await this.pgctl('start').catch(async (e: Error) => {
      if (!(await portOpen(this.o.pgPort))) throw e; // "already running" is fine
    });
    await waitPort(this.o.pgPort, 60000, 'PostgreSQL');
    this.down.delete('postgres');
  }

  async brokerStop(): Promise<void> {
    this.down.add('rabbitmq');
    await this.rabbitctl('stop_app');
  }

  async brokerStart(): Promise<void> {
    await this.rabbitctl('start_app');
    await this.rabbitctl('await_startup');
    await waitPort(this.o.rabbitPort, 60000, 'RabbitMQ');
    this.down.delete('rabbitmq');
  }

  /** Starts again whatever this run stopped; never throws (reports instead). */
  async restoreAll(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
    if (this.down.has('postgres')) await this.pgStart().catch((e: Error) => log(`could not restart PostgreSQL ${this.o.pgCluster}: ${e.message}`));
    if (this.down.has('rabbitmq')) await this.brokerStart().catch((e: Error) => log(`could not restart RabbitMQ: ${e.message}`));
  }

  get anythingDown(): boolean {
    return this.down.size > 0;
  }
}
