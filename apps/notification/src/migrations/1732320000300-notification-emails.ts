import { MigrationInterface, QueryRunner } from 'typeorm';

export class NotificationEmails1732320000300 implements MigrationInterface {
  name = 'NotificationEmails1732320000300';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE emails (
      id bigserial PRIMARY KEY,
      order_id uuid NOT NULL,
      status text NOT NULL,
      tenant_id text NOT NULL,
      recipient text NOT NULL,
      subject text NOT NULL,
      text_body text NOT NULL,
      html_body text NOT NULL,
      message_id text NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      sent_at timestamptz,
      CONSTRAINT emails_order_status_key UNIQUE (order_id, status)
    )`);
    await q.query('CREATE INDEX emails_unsent_idx ON emails (id) WHERE sent_at IS NULL');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE emails');
  }
}
