import { MigrationInterface, QueryRunner } from 'typeorm';

export class ReceivingInit1732320000200 implements MigrationInterface {
  name = 'ReceivingInit1732320000200';
  async up(q: QueryRunner): Promise<void> {
    // The read model: one row per order, current state (applied only from newer sequences).
    await q.query(`CREATE TABLE orders (
      id uuid PRIMARY KEY,
      tenant_id text NOT NULL,
      status text NOT NULL,
      sequence integer NOT NULL,
      customer jsonb NOT NULL,
      items jsonb NOT NULL,
      coupon_code text,
      shipping_address jsonb NOT NULL,
      totals jsonb,
      rejection_reason text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await q.query('CREATE INDEX orders_tenant_created ON orders (tenant_id, created_at DESC, id DESC)');
    await q.query('CREATE INDEX orders_tenant_status_created ON orders (tenant_id, status, created_at DESC, id DESC)');
    // Every status change by sequence (SSE replay, history); out-of-order events still land in place.
    await q.query(`CREATE TABLE order_history (
      order_id uuid NOT NULL,
      sequence integer NOT NULL,
      status text NOT NULL,
      at timestamptz NOT NULL,
      reason text,
      totals jsonb,
      PRIMARY KEY (order_id, sequence)
    )`);
    // Idempotency-Key records: the request's hash and the response to replay.
    await q.query(`CREATE TABLE idempotency_keys (
      tenant_id text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      order_id uuid NOT NULL,
      status_code integer NOT NULL,
      response text NOT NULL,
      held_until timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, key)
    )`);
    await q.query('CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE idempotency_keys');
    await q.query('DROP TABLE order_history');
    await q.query('DROP TABLE orders');
  }
}
