import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { QueueType, ToyEnvironment } from './toy-rig';
import { SCHEMA } from './toy-rig';
import type { ToyQueue } from './toy-messages';

/** What the supervised process is started with. */
export interface SupervisedOptions {
  queues: Partial<Record<ToyQueue, number>>;
  queueType: QueueType;
  maxBatch?: number;
}

/**
 * Runs the toy service (toy-service.ts) as a separate process and starts it
 * again each time it dies, as an orchestrator would: `deaths` are the exit
 * codes of every run that ended (a run may die on a message before it has
 * said it is ready: it consumes as it starts). One that could not start
 * (exit code 2) is not restarted more than a few times.
 */
export class Supervisor {
  readonly deaths: Array<number | null> = [];
  private brokenStarts = 0;
  private child?: ChildProcess;
  private stopping = false;
  private readies = 0;
  private log = '';

  constructor(private readonly env: ToyEnvironment, private readonly o: SupervisedOptions) {}

  /** How many runs so far said they were ready. */
  get ready(): number {
    return this.readies;
  }

  /** The last lines the processes wrote (for a failing test's message). */
  get output(): string {
    return this.log.slice(-6000);
  }

  start(): void {
    const child = fork(join(__dirname, 'toy-service.js'), [], {
      execArgv: ['--enable-source-maps'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...process.env,
        TOY_DATABASE_URL: this.env.databaseUrl,
        TOY_PREFIX: this.env.prefix,
        TOY_QUEUES: JSON.stringify(this.o.queues),
        TOY_QUEUE_TYPE: this.o.queueType,
        TOY_MAX_BATCH: String(this.o.maxBatch ?? 1),
      },
    });
    const keep = (b: Buffer) => (this.log = (this.log + b.toString('utf8')).slice(-20000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (m) => {
      if (m === 'ready') this.readies++;
    });
    child.once('exit', (code) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      this.deaths.push(code);
      if (code === 2) this.brokenStarts++;
      if (this.brokenStarts < 3) this.start(); // as an orchestrator would
    });
    this.child = child;
  }

  /** Stops the running process (SIGTERM; it closes its connections) and restarts no more. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

/** Pauses or resumes the consumption of an own queue of every toy service on `env` (ConsumptionControl's table and NOTIFY). */
export async function setPaused(env: ToyEnvironment, queue: ToyQueue, paused: boolean): Promise<void> {
  const change = paused ? 'INSERT INTO paused_queues (queue) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1' : 'DELETE FROM paused_queues WHERE queue = $1 RETURNING 1';
  await env.sql(`WITH c AS (${change}) SELECT pg_notify($2, '') FROM (SELECT count(*) FROM c) n`, [queue, `consumption_${SCHEMA}`]);
}
