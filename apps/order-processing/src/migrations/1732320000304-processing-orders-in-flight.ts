import { MigrationInterface, QueryRunner } from 'typeorm';

/** Admission counts the orders in flight of every tenant (is another tenant active?): a small index of PROCESSING orders. */
export class ProcessingOrdersInFlight1732320000304 implements MigrationInterface {
  name = 'ProcessingOrdersInFlight1732320000304';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX orders_in_flight ON orders (tenant_id) WHERE status = 'PROCESSING'`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX orders_in_flight');
  }
}
