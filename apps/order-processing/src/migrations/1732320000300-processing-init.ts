import { MigrationInterface, QueryRunner } from 'typeorm';

export class ProcessingInit1732320000300 implements MigrationInterface {
  name = 'ProcessingInit1732320000300';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE orders (
      id uuid PRIMARY KEY,
      tenant_id text NOT NULL,
      status text NOT NULL,
      sequence integer NOT NULL,
      reason text,
      customer jsonb NOT NULL,
      items jsonb NOT NULL,
      coupon_code text,
      shipping_address jsonb NOT NULL,
      payment_token text NOT NULL,
      currency char(3),
      subtotal_cents integer CHECK (subtotal_cents >= 0),
      discount_cents integer CHECK (discount_cents >= 0),
      total_cents integer CHECK (total_cents >= 0),
      reserved boolean NOT NULL DEFAULT false,
      authorization_id text,
      captured_at timestamptz,
      voided_at timestamptz,
      placed_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE promotions (
      code text PRIMARY KEY,
      type text NOT NULL CHECK (type IN ('percent', 'fixed')),
      value integer NOT NULL CHECK (value > 0),
      currency char(3),
      min_subtotal_cents integer CHECK (min_subtotal_cents >= 0),
      starts_at timestamptz,
      ends_at timestamptz,
      max_redemptions integer CHECK (max_redemptions >= 0),
      redemptions integer NOT NULL DEFAULT 0 CHECK (redemptions >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE promotion_redemptions (
      code text NOT NULL REFERENCES promotions (code) ON UPDATE CASCADE,
      order_id uuid NOT NULL,
      discount_cents integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (code, order_id)
    )`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE promotion_redemptions');
    await q.query('DROP TABLE promotions');
    await q.query('DROP TABLE orders');
  }
}
