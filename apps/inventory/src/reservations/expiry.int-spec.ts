import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { handledCount } from '@orders/messaging';
import { TestApp } from '../../test/test-app';

/**
 * Reservations live 1 s. The periodic sweep is set to a minute, so stock
 * coming back within seconds shows the service wakes at the expiry itself.
 */
let t: TestApp;
const TENANT = 'demo';

before(async () => {
  t = await TestApp.start({ RESERVATION_TTL_SECONDS: '1', RESERVATION_SWEEP_MS: '60000' }, [
    'inventory.reserved.v1', 'inventory.committed.v1', 'inventory.commit-failed.v1',
  ]);
  assert.equal((await t.putProduct('E-A', { name: 'Ephemeral', priceCents: 100, currency: 'EUR', stock: 5 })).status, 201);
  assert.equal((await t.putProduct('E-B', { name: 'Brief', priceCents: 200, currency: 'EUR', stock: 5 })).status, 201);
  assert.equal((await t.putProduct('E-C', { name: 'Control', priceCents: 300, currency: 'EUR', stock: 5 })).status, 201);
});
after(async () => {
  await t?.stop();
});

test('an untouched reservation expires after its TTL and its stock returns; a later commit fails with reservation_expired', async () => {
  const orderId = randomUUID();
  await t.bus.publish('inventory.reserve.v1', { orderId, tenantId: TENANT, items: [{ sku: 'E-A', quantity: 3 }, { sku: 'E-B', quantity: 1 }] });
  await t.bus.waitFor('inventory.reserved.v1', (p) => p.orderId === orderId);
  assert.equal((await t.product('E-A')).reserved, 3);

  // Well before the minute-long periodic sweep (generous for a loaded 2-core machine).
  await eventually(async () => (await t.product('E-A')).reserved === 0, 15000, 50, 'expiry near the TTL');
  assert.deepEqual(await t.product('E-A'), { sku: 'E-A', name: 'Ephemeral', priceCents: 100, currency: 'EUR', stock: 5, reserved: 0, available: 5 });
  assert.equal((await t.product('E-B')).available, 5);
  assert.equal(await t.reservationStatus(orderId), 'expired');

  await t.bus.publish('inventory.commit.v1', { orderId, tenantId: TENANT });
  const failed = await t.bus.waitFor('inventory.commit-failed.v1', (p) => p.orderId === orderId);
  assert.equal(failed.payload.reason, 'reservation_expired');

  // Releasing an expired reservation gives back nothing more.
  const acked = await handledCount('inventory.commands', 'inventory.release.v1');
  await t.bus.publish('inventory.release.v1', { orderId, tenantId: TENANT, reason: 'cancel' });
  await t.untilAcked('inventory.commands', 'inventory.release.v1', acked + 1);
  assert.equal((await t.product('E-A')).stock, 5);
  assert.equal((await t.product('E-A')).reserved, 0);
  assert.equal(t.bus.messages('inventory.committed.v1', (p) => p.orderId === orderId).length, 0);
});

test('a reservation committed in time is sold and does not expire afterwards', async () => {
  const orderId = randomUUID();
  await t.bus.publish('inventory.reserve.v1', { orderId, tenantId: TENANT, items: [{ sku: 'E-B', quantity: 2 }] });
  await t.bus.waitFor('inventory.reserved.v1', (p) => p.orderId === orderId);
  // a control reservation made after it, never committed: once the expiry has taken it, it has passed the first's TTL too
  const control = randomUUID();
  await t.bus.publish('inventory.reserve.v1', { orderId: control, tenantId: TENANT, items: [{ sku: 'E-C', quantity: 1 }] });
  await t.bus.waitFor('inventory.reserved.v1', (p) => p.orderId === control);
  await t.bus.publish('inventory.commit.v1', { orderId, tenantId: TENANT });
  await t.bus.waitFor('inventory.committed.v1', (p) => p.orderId === orderId);
  await eventually(async () => (await t.reservationStatus(control)) === 'expired', 15000, 50, 'the control reservation expired');
  const p = await t.product('E-B');
  assert.deepEqual([p.stock, p.reserved, p.available], [3, 0, 3]);
  assert.equal(await t.reservationStatus(orderId), 'committed');
});
