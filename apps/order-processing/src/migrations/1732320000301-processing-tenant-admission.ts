import { MigrationInterface, QueryRunner } from 'typeorm';

/** Per-tenant admission counts a tenant's PROCESSING orders and picks its oldest waiting (PENDING) one. */
export class ProcessingTenantAdmission1732320000301 implements MigrationInterface {
  name = 'ProcessingTenantAdmission1732320000301';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX orders_tenant_active ON orders (tenant_id, status, placed_at) WHERE status IN ('PENDING', 'PROCESSING')`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX orders_tenant_active');
  }
}
