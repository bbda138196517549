import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Captures and voids are jobs of order-processing's own (payment_jobs), run
 * after the commit that made them and swept when a process died before:
 * they never cross the broker. A job the gateway refuses (4xx) ends
 * `refused`, for an operator.
 */
export class ProcessingPaymentJobs1732320000305 implements MigrationInterface {
  name = 'ProcessingPaymentJobs1732320000305';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE payment_jobs (
      id bigserial PRIMARY KEY,
      order_id uuid NOT NULL,
      tenant_id text NOT NULL,
      action text NOT NULL CHECK (action IN ('capture', 'void')),
      authorization_id text,
      state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'refused', 'nothing_to_void')),
      attempts int NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      CHECK (action = 'void' OR authorization_id IS NOT NULL),
      UNIQUE (order_id, action)
    )`);
    await q.query(`CREATE INDEX payment_jobs_due ON payment_jobs (next_attempt_at) WHERE state = 'pending'`);
    await q.query(`CREATE INDEX payment_jobs_finished ON payment_jobs (finished_at) WHERE state <> 'pending'`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE payment_jobs');
  }
}
