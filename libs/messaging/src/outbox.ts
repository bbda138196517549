import { createEnvelope, Envelope, MessageName, PayloadOf } from '@orders/contracts';
import { MigrationInterface, QueryRunner } from 'typeorm';

/** Rows waiting in the outbox table: the serialized envelope and its routing key. */
export interface OutboxRow {
  id: string;
  name: string;
  raw: string;
  /** AMQP priority (0-9) for queues declared with one (QUEUE_MAX_PRIORITY); undefined = none. */
  priority?: number;
}

export const outboxChannel = (schema: string): string => `outbox_${schema}`;

export function toOutboxRow<N extends MessageName>(
  name: N,
  payload: PayloadOf<N>,
  meta: { id?: string; correlationId?: string; priority?: number } = {},
): OutboxRow {
  const env: Envelope<N> = createEnvelope(name, payload, meta);
  return { id: env.id, name, raw: JSON.stringify(env), priority: meta.priority };
}

type Queryable = { query(sql: string, params?: unknown[]): Promise<unknown> };

/**
 * Inserts rows into the outbox inside the caller's transaction, with one
 * statement, and raises the NOTIFY that wakes the relay. PostgreSQL delivers
 * the notification only when the transaction commits, so the relay never
 * sees a message whose write was rolled back.
 */
export async function writeOutbox(q: Queryable, schema: string, rows: readonly OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `WITH ins AS (
       INSERT INTO outbox (id, routing_key, body, priority)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $5::smallint[])
       RETURNING 1
     )
     SELECT pg_notify($4, '') FROM (SELECT count(*) FROM ins) c`,
    [rows.map((r) => r.id), rows.map((r) => r.name), rows.map((r) => r.raw), outboxChannel(schema), rows.map((r) => r.priority ?? null)],
  );
}

/** The outbox and inbox tables every service needs; each service lists this migration first. */
export class MessagingTables1732320000000 implements MigrationInterface {
  name = 'MessagingTables1732320000000';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE outbox (
      seq bigserial PRIMARY KEY,
      id uuid NOT NULL,
      routing_key text NOT NULL,
      body text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE inbox (
      message_id uuid PRIMARY KEY,
      processed_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX inbox_processed_at ON inbox (processed_at)`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE inbox');
    await q.query('DROP TABLE outbox');
  }
}

/** Lets a message carry an AMQP priority (fair admission of new orders across tenants). */
export class OutboxPriority1732320000001 implements MigrationInterface {
  name = 'OutboxPriority1732320000001';
  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox ADD COLUMN priority smallint');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox DROP COLUMN priority');
  }
}

/** The messaging tables' migrations, in order: every service lists these first. */
export const MESSAGING_MIGRATIONS = [MessagingTables1732320000000, OutboxPriority1732320000001];
