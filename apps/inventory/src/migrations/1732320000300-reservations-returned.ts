import { MigrationInterface, QueryRunner } from 'typeorm';

/** A committed reservation whose order was cancelled or failed after all gives its sold units back: status 'returned'. */
export class ReservationsReturned1732320000300 implements MigrationInterface {
  name = 'ReservationsReturned1732320000300';
  async up(q: QueryRunner): Promise<void> {
    const [{ conname }] = (await q.query(
      `SELECT conname FROM pg_constraint WHERE conrelid = 'reservations'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%''expired''%'`,
    )) as Array<{ conname: string }>;
    await q.query(`ALTER TABLE reservations DROP CONSTRAINT "${conname}"`);
    await q.query(`ALTER TABLE reservations ADD CONSTRAINT reservations_status_check CHECK (status IN ('reserved', 'rejected', 'committed', 'released', 'expired', 'returned'))`);
  }
  async down(q: QueryRunner): Promise<void> {
    // returned units are back in stock, as released ones are
    await q.query(`UPDATE reservations SET status = 'released' WHERE status = 'returned'`);
    await q.query('ALTER TABLE reservations DROP CONSTRAINT reservations_status_check');
    await q.query(`ALTER TABLE reservations ADD CONSTRAINT reservations_status_check CHECK (status IN ('reserved', 'rejected', 'committed', 'released', 'expired'))`);
  }
}
