import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The admission lane an order's placement came in (`quiet`, or `bulk` for a
 * tenant far over its share): its status events carry it, so the read
 * model takes a quiet tenant's statuses beside a flood's, not behind them.
 */
export class ProcessingOrderLane1732320000306 implements MigrationInterface {
  name = 'ProcessingOrderLane1732320000306';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders ADD COLUMN lane text NOT NULL DEFAULT 'quiet' CHECK (lane IN ('quiet', 'bulk'))`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE orders DROP COLUMN lane');
  }
}
