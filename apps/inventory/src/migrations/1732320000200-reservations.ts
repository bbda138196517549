import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One reservation per order: its outcome (reserved, or rejected with a reason),
 * the priced lines as published, and what became of it (committed, released,
 * expired). SKUs sort byte-wise ("C") so listing and cursors are stable.
 */
export class Reservations1732320000200 implements MigrationInterface {
  name = 'Reservations1732320000200';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE products ALTER COLUMN sku TYPE text COLLATE "C"`);
    await q.query(`ALTER TABLE products ADD CONSTRAINT products_currency_iso CHECK (currency ~ '^[A-Z]{3}$')`);
    await q.query(`CREATE TABLE reservations (
      order_id uuid PRIMARY KEY,
      tenant_id text NOT NULL,
      status text NOT NULL CHECK (status IN ('reserved', 'rejected', 'committed', 'released', 'expired')),
      reject_reason text CHECK (reject_reason IN ('out_of_stock', 'unknown_product', 'mixed_currency')),
      reject_skus text[],
      currency char(3),
      lines jsonb NOT NULL DEFAULT '[]',
      expires_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((status = 'rejected') = (reject_reason IS NOT NULL)),
      CHECK (status = 'rejected' OR (currency IS NOT NULL AND expires_at IS NOT NULL AND jsonb_array_length(lines) > 0))
    )`);
    await q.query(`CREATE INDEX reservations_open_by_expiry ON reservations (expires_at) WHERE status = 'reserved'`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE reservations');
    await q.query('ALTER TABLE products DROP CONSTRAINT products_currency_iso');
    await q.query('ALTER TABLE products ALTER COLUMN sku TYPE text COLLATE "default"');
  }
}
