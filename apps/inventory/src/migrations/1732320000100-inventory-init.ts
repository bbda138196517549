import { MigrationInterface, QueryRunner } from 'typeorm';

export class InventoryInit1732320000100 implements MigrationInterface {
  name = 'InventoryInit1732320000100';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE products (
      sku text PRIMARY KEY,
      name text NOT NULL,
      price_cents integer NOT NULL CHECK (price_cents >= 0),
      currency char(3) NOT NULL,
      stock integer NOT NULL CHECK (stock >= 0),
      reserved integer NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= stock),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE products');
  }
}
