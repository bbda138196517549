import { MigrationInterface, QueryRunner } from 'typeorm';

/** What the retention prune looks up: finished deliveries and sent emails by when they finished. */
export class NotificationRetention1732320000500 implements MigrationInterface {
  name = 'NotificationRetention1732320000500';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at) WHERE state <> 'pending'`);
    await q.query('CREATE INDEX emails_sent_idx ON emails (sent_at) WHERE sent_at IS NOT NULL');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX emails_sent_idx');
    await q.query('DROP INDEX webhook_deliveries_finished_idx');
  }
}
