import { MigrationInterface, QueryRunner } from 'typeorm';

/** A confirmed order whose stock could not be taken (its hold had expired, the units were gone): status 'unfilled', for an operator. */
export class ReservationsUnfilled1732320000400 implements MigrationInterface {
  name = 'ReservationsUnfilled1732320000400';
  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE reservations DROP CONSTRAINT reservations_status_check');
    await q.query(`ALTER TABLE reservations ADD CONSTRAINT reservations_status_check CHECK (status IN ('reserved', 'rejected', 'committed', 'released', 'expired', 'returned', 'unfilled'))`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE reservations SET status = 'expired' WHERE status = 'unfilled'`);
    await q.query('ALTER TABLE reservations DROP CONSTRAINT reservations_status_check');
    await q.query(`ALTER TABLE reservations ADD CONSTRAINT reservations_status_check CHECK (status IN ('reserved', 'rejected', 'committed', 'released', 'expired', 'returned'))`);
  }
}
