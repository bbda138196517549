import { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * The messaging tables (outbox, inbox, paused queues, crash counts), in one
 * place: every service lists MESSAGING_MIGRATIONS first.
 */

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
    // one message handled on two queues leaves one row: the old key holds a message id once
    await q.query('DELETE FROM inbox a USING inbox b WHERE a.message_id = b.message_id AND a.queue > b.queue');
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

/** Crash counts of messages whose handling ended their process (CrashCounts, inbox.ts). */
export class DeliveryCrashes1732320000006 implements MigrationInterface {
  name = 'DeliveryCrashes1732320000006';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE delivery_crashes (
      message_id uuid NOT NULL,
      queue text NOT NULL,
      crashes int NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (message_id, queue)
    )`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE delivery_crashes');
  }
}

/** Delayed messages are withdrawn by id (Outbox.withdrawSql). */
export class OutboxById1732320000007 implements MigrationInterface {
  name = 'OutboxById1732320000007';
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX IF NOT EXISTS outbox_id ON outbox (id)');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS outbox_id');
  }
}

/** The messaging tables' migrations, in order: every service lists these first. */
export const MESSAGING_MIGRATIONS = [
  MessagingTables1732320000000, OutboxPriority1732320000001, InboxPerQueue1732320000002, OutboxTraceContext1732320000003, PausedQueues1732320000004,
  OutboxRelayAfter1732320000005, DeliveryCrashes1732320000006, OutboxById1732320000007,
];
