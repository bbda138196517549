import { MigrationInterface, QueryRunner } from 'typeorm';

/** Every status an order went through, written in the same statement as the move (orders already there get their current status). */
export class ProcessingOrderHistory1732320000302 implements MigrationInterface {
  name = 'ProcessingOrderHistory1732320000302';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE order_history (
      order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
      sequence integer NOT NULL,
      status text NOT NULL,
      reason text,
      at timestamptz NOT NULL,
      PRIMARY KEY (order_id, sequence)
    )`);
    await q.query('INSERT INTO order_history (order_id, sequence, status, reason, at) SELECT id, sequence, status, reason, updated_at FROM orders');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE order_history');
  }
}
