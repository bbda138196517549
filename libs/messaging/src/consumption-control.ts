import { Logger } from '@nestjs/common';
import { PgListener, Sql } from '@orders/persistence';
import { QueueToolError } from './dead-letters';

/** What pauses and resumes consumers: the transport (AmqpTransport.setPaused). */
export interface PausableConsumers {
  setPaused(paused: ReadonlySet<string>): Promise<void>;
}

/**
 * Operators pause and resume the consumption of a queue the service owns,
 * for every instance at once: the paused queues are rows in the service's
 * own schema (paused_queues), and a NOTIFY on change makes every instance
 * (each LISTENing, and reading the table again after a reconnect) apply the
 * set to its transport. Messages of a paused queue wait in the broker.
 */
export class ConsumptionControl {
  private readonly logger = new Logger('ConsumptionControl');
  private readonly listener: PgListener;
  private target?: PausableConsumers;
  private applying = Promise.resolve();

  constructor(private readonly db: Sql, private readonly o: { databaseUrl: string; schema: string; ownQueues: readonly string[] }) {
    this.listener = new PgListener({
      url: o.databaseUrl,
      channel: `consumption_${o.schema}`,
      applicationName: `consumption:${o.schema}`,
      onNotify: () => this.refresh(),
      onListening: () => this.refresh(),
    });
  }

  /** Starts applying the paused set to `target` (the service's transport). */
  async attach(target: PausableConsumers): Promise<void> {
    this.target = target;
    await this.listener.start();
    this.refresh();
    await this.applying;
  }

  async stop(): Promise<void> {
    this.target = undefined;
    await this.listener.stop();
  }

  async paused(): Promise<Set<string>> {
    const rows = await this.db.query<{ queue: string }>('SELECT queue FROM paused_queues');
    return new Set(rows.map((r) => r.queue));
  }

  async list(): Promise<{ queues: Array<{ queue: string; paused: boolean }> }> {
    const paused = await this.paused();
    return { queues: this.o.ownQueues.map((queue) => ({ queue, paused: paused.has(queue) })) };
  }

  async pause(queue: string): Promise<{ queue: string; paused: true }> {
    const q = this.own(queue);
    await this.db.query(
      `WITH ins AS (INSERT INTO paused_queues (queue) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1) SELECT pg_notify($2, '')`,
      [q, `consumption_${this.o.schema}`],
    );
    this.logger.log(`${q}: consumption paused by an operator`);
    return { queue: q, paused: true };
  }

  async resume(queue: string): Promise<{ queue: string; paused: false }> {
    const q = this.own(queue);
    await this.db.query(`WITH del AS (DELETE FROM paused_queues WHERE queue = $1 RETURNING 1) SELECT pg_notify($2, '')`, [q, `consumption_${this.o.schema}`]);
    this.logger.log(`${q}: consumption resumed by an operator`);
    return { queue: q, paused: false };
  }

  private own(queue: string): string {
    const q = this.o.ownQueues.find((o) => o === queue);
    if (!q) throw new QueueToolError('unknown_queue', `${queue} is not consumed by this service; its queues: ${this.o.ownQueues.join(', ')}`);
    return q;
  }

  private refresh(): void {
    this.applying = this.applying
      .then(async () => {
        const target = this.target;
        if (target) await target.setPaused(await this.paused());
      })
      .catch((e: Error) => this.logger.warn(`cannot apply paused queues: ${e.message}`));
  }
}

