import { createEnvelope, Envelope, MessageName, PayloadOf } from '@orders/contracts';
import { sqlLiteral } from '@orders/persistence';
import { MigrationInterface, QueryRunner } from 'typeorm';
import { PausedQueues1732320000004 } from './consumption-control';
import { captureTraceContext } from './tracing';

/** Rows waiting in the outbox table: the serialized envelope and its routing key. */
export interface OutboxRow {
  id: string;
  name: string;
  raw: string;
  /** AMQP priority (0-9) for queues declared with one (QUEUE_MAX_PRIORITY); undefined = none. */
  priority?: number;
  /** W3C trace context of the transaction that wrote it (JSON), when tracing is on. */
  traceContext?: string | null;
}

export const outboxChannel = (schema: string): string => `outbox_${schema}`;

export function toOutboxRow<N extends MessageName>(
  name: N,
  payload: PayloadOf<N>,
  meta: { id?: string; correlationId?: string; priority?: number } = {},
): OutboxRow {
  const env: Envelope<N> = createEnvelope(name, payload, meta);
  return { id: env.id, name, raw: JSON.stringify(env), priority: meta.priority, traceContext: captureTraceContext() };
}

/**
 * The one statement that writes rows to the outbox inside the writer's
 * transaction, with its values as literals, so it can share a round trip
 * with the COMMIT that follows it (UnitOfWork). For the relay (`direct`
 * false) it raises the NOTIFY that wakes it: PostgreSQL delivers the
 * notification only when the transaction commits, so the relay never sees a
 * message whose write was rolled back. Rows the writer publishes itself
 * right after commit (`direct`) get no NOTIFY and a `relay_after` a few
 * seconds ahead: the relay leaves them alone unless the writer fails to
 * publish them by then (see OutboxRelay.publishNow). Selects the rows' seq
 * numbers (`direct`) or the notification.
 */
export function outboxInsertSql(schema: string, rows: readonly OutboxRow[], direct: boolean): string {
  const lit = (v: string | null | undefined) => (v === null || v === undefined ? 'NULL' : sqlLiteral(v));
  const relayAfter = direct ? `now() + interval '${DIRECT_PUBLISH_GRACE_MS} milliseconds'` : 'NULL';
  const values = rows
    .map((r) => `(${lit(r.id)}::uuid, ${lit(r.name)}, ${lit(r.raw)}, ${Number.isInteger(r.priority) ? r.priority : 'NULL'}::smallint, ${lit(r.traceContext)}, ${relayAfter})`)
    .join(', ');
  const insert = `INSERT INTO outbox (id, routing_key, body, priority, trace_context, relay_after) VALUES ${values} RETURNING seq`;
  return direct
    ? `WITH ins AS (${insert}) SELECT seq FROM ins`
    : `WITH ins AS (${insert}) SELECT pg_notify(${lit(outboxChannel(schema))}, '') FROM (SELECT count(*) FROM ins) c`;
}

/** How long the relay leaves a row alone that its writer publishes itself after commit. */
export const DIRECT_PUBLISH_GRACE_MS = 5000;

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

/** The inbox de-duplicates per (message, consuming queue): one service may consume one message on two queues (email, webhooks). */
export class InboxPerQueue1732320000002 implements MigrationInterface {
  name = 'InboxPerQueue1732320000002';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inbox ADD COLUMN queue text NOT NULL DEFAULT ''`);
    await q.query('ALTER TABLE inbox DROP CONSTRAINT inbox_pkey');
    await q.query('ALTER TABLE inbox ADD PRIMARY KEY (message_id, queue)');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE inbox DROP CONSTRAINT inbox_pkey');
    await q.query('ALTER TABLE inbox DROP COLUMN queue');
    await q.query('ALTER TABLE inbox ADD PRIMARY KEY (message_id)');
  }
}

/** An outbox row carries the W3C trace context of the transaction that wrote it (tracing on). */
export class OutboxTraceContext1732320000003 implements MigrationInterface {
  name = 'OutboxTraceContext1732320000003';
  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox ADD COLUMN trace_context text');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox DROP COLUMN trace_context');
  }
}

/** A row its writer publishes right after commit waits for the relay only from `relay_after` on. */
export class OutboxRelayAfter1732320000005 implements MigrationInterface {
  name = 'OutboxRelayAfter1732320000005';
  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox ADD COLUMN relay_after timestamptz');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox DROP COLUMN relay_after');
  }
}

/** The messaging tables' migrations, in order: every service lists these first. */
export const MESSAGING_MIGRATIONS = [
  MessagingTables1732320000000, OutboxPriority1732320000001, InboxPerQueue1732320000002, OutboxTraceContext1732320000003, PausedQueues1732320000004,
  OutboxRelayAfter1732320000005,
];
