import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every order ends and money adds up:
 * - amounts up to 10^12 minor units (bigint money columns);
 * - when the authorize step was requested and last attempted, so a final
 *   order that may hold an authorization whose answer never arrived gets it
 *   found (through the gateway idempotency key) and voided;
 * - cancels that arrive before their order.placed (kept until it arrives: a
 *   cancel accepted while PENDING always wins);
 * - the watchdog's scan of orders not final, by age.
 */
export class ProcessingEveryOrderEnds1732320000303 implements MigrationInterface {
  name = 'ProcessingEveryOrderEnds1732320000303';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders
      ALTER COLUMN subtotal_cents TYPE bigint, ALTER COLUMN discount_cents TYPE bigint, ALTER COLUMN total_cents TYPE bigint,
      ADD COLUMN authorize_requested_at timestamptz,
      ADD COLUMN authorize_attempted_at timestamptz`);
    await q.query('ALTER TABLE promotions ALTER COLUMN value TYPE bigint, ALTER COLUMN min_subtotal_cents TYPE bigint');
    await q.query('ALTER TABLE promotion_redemptions ALTER COLUMN discount_cents TYPE bigint');
    await q.query(`CREATE TABLE early_cancels (
      order_id uuid PRIMARY KEY,
      tenant_id text NOT NULL,
      requested_at timestamptz NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX orders_not_final ON orders (placed_at) WHERE status IN ('PENDING', 'PROCESSING')`);
  }
  async down(q: QueryRunner): Promise<void> {
    await refuseAmountsBeyondInteger(q);
    await q.query('DROP INDEX orders_not_final');
    await q.query('DROP TABLE early_cancels');
    await q.query('ALTER TABLE promotion_redemptions ALTER COLUMN discount_cents TYPE integer');
    await q.query('ALTER TABLE promotions ALTER COLUMN value TYPE integer, ALTER COLUMN min_subtotal_cents TYPE integer');
    await q.query(`ALTER TABLE orders DROP COLUMN authorize_attempted_at, DROP COLUMN authorize_requested_at,
      ALTER COLUMN subtotal_cents TYPE integer, ALTER COLUMN discount_cents TYPE integer, ALTER COLUMN total_cents TYPE integer`);
  }
}

const INT_MAX = 2_147_483_647;
const WIDENED = [
  ['orders', ['subtotal_cents', 'discount_cents', 'total_cents']],
  ['promotions', ['value', 'min_subtotal_cents']],
  ['promotion_redemptions', ['discount_cents']],
] as const;

/**
 * The money columns go back to integer: an amount beyond 2^31 - 1 minor
 * units cannot be kept by the previous release, and truncating it would
 * change what a customer was charged. So the down refuses, naming where, and
 * changes nothing (its transaction is rolled back); settle or archive those
 * rows first. Any other database goes down as before.
 */
async function refuseAmountsBeyondInteger(q: QueryRunner): Promise<void> {
  const found: string[] = [];
  for (const [table, columns] of WIDENED) {
    const [{ n }] = (await q.query(
      `SELECT count(*)::int AS n FROM ${table} WHERE ${columns.map((c) => `abs(${c}) > ${INT_MAX}`).join(' OR ')}`,
    )) as Array<{ n: number }>;
    if (n > 0) found.push(`${n} row(s) of ${table} (${columns.join(', ')})`);
  }
  if (found.length) {
    throw new Error(
      `cannot revert ProcessingEveryOrderEnds1732320000303: amounts beyond ${INT_MAX} minor units, which the previous release stores as integer, in ${found.join('; ')}; ` +
        'nothing was changed: settle or archive those rows first',
    );
  }
}
