import { Logger } from '@nestjs/common';
import type { QueueName } from '@orders/contracts';
import { PgListener } from '@orders/persistence';
import { MigrationInterface, QueryRunner } from 'typeorm';
import type { DataSource } from 'typeorm';

/** What pauses and resumes consumers: the transport (AmqpTransport.setPaused). */
export interface PausableConsumers {
  setPaused(paused: ReadonlySet<string>): Promise<void>;
}

export class ConsumptionError extends Error {
  constructor(readonly code: 'unknown_queue', message: string) {
    super(message);
    this.name = 'ConsumptionError';
  }
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

  constructor(private readonly ds: DataSource, private readonly o: { databaseUrl: string; schema: string; ownQueues: readonly QueueName[] }) {
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
    const rows: Array<{ queue: string }> = await this.ds.query('SELECT queue FROM paused_queues');
    return new Set(rows.map((r) => r.queue));
  }

  async list(): Promise<{ queues: Array<{ queue: QueueName; paused: boolean }> }> {
    const paused = await this.paused();
    return { queues: this.o.ownQueues.map((queue) => ({ queue, paused: paused.has(queue) })) };
  }

  async pause(queue: string): Promise<{ queue: QueueName; paused: true }> {
    const q = this.own(queue);
    await this.ds.query(
      `WITH ins AS (INSERT INTO paused_queues (queue) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1) SELECT pg_notify($2, '')`,
      [q, `consumption_${this.o.schema}`],
    );
    this.logger.log(`${q}: consumption paused by an operator`);
    return { queue: q, paused: true };
  }

  async resume(queue: string): Promise<{ queue: QueueName; paused: false }> {
    const q = this.own(queue);
    await this.ds.query(`WITH del AS (DELETE FROM paused_queues WHERE queue = $1 RETURNING 1) SELECT pg_notify($2, '')`, [q, `consumption_${this.o.schema}`]);
    this.logger.log(`${q}: consumption resumed by an operator`);
    return { queue: q, paused: false };
  }

  private own(queue: string): QueueName {
    const q = this.o.ownQueues.find((o) => o === queue);
    if (!q) throw new ConsumptionError('unknown_queue', `${queue} is not consumed by this service; its queues: ${this.o.ownQueues.join(', ')}`);
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

/** The paused queues of a service (ConsumptionControl). */
export class PausedQueues1732320000004 implements MigrationInterface {
  name = 'PausedQueues1732320000004';
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE TABLE paused_queues (queue text PRIMARY KEY, paused_at timestamptz NOT NULL DEFAULT now())');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE paused_queues');
  }
}
