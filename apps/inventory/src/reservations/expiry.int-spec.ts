import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, handledCount } from '@orders/testing';
import { TestApp } from '../../test/test-app';

/**
 * Reservations live 1 s. The periodic sweep is set to a minute, so stock
 * coming back within seconds shows the service wakes at the expiry itself.
 */
let t: TestApp;
const TENANT = 'demo';

before(async () => {
  t = await TestApp.start({ RESERVATION_TTL_SECONDS: '1', RESERVATION_SWEEP_MS: '60000' }, [
    'inventory.reserved.v1',
  ]);
  assert.equal((await t.putProduct('E-A', { name: 'Ephemeral', priceCents: 100, currency: 'EUR', stock: 5 })).status, 201);
  assert.equal((await t.putProduct('E-B', { name: 'Brief', priceCents: 200, currency: 'EUR', stock: 5 })).status, 201);
  assert.equal((await t.putProduct('E-C', { name: 'Control', priceCents: 300, currency: 'EUR', stock: 5 })).status, 201);
});
after(async () => {
  await t?.stop();
});

test('an untouched reservation expires after its TTL and its stock returns; a later commit (a confirmed order) takes the units from what is available', async () => {
  const orderId = randomUUID();
  await t.bus.publish('inventory.reserve.v1', { orderId, tenantId: TENANT, items: [{ sku: 'E-A', quantity: 3 }, { sku: 'E-B', quantity: 1 }] });
  await t.bus.waitFor('inventory.reserved.v1', (p) => p.orderId === orderId);
  assert.equal((await t.product('E-A')).reserved, 3);

  // Well before the minute-long periodic sweep (generous for a loaded 2-core machine).
  await eventually(async () => (await t.product('E-A')).reserved === 0, 15000, 50, 'expiry near the TTL');
  assert.deepEqual(await t.product('E-A'), { sku: 'E-A', name: 'Ephemeral', priceCents: 100, currency: 'EUR', stock: 5, reserved: 0, available: 5 });
  assert.equal((await t.product('E-B')).available, 5);
  assert.equal(await t.reservationStatus(orderId), 'expired');

  // The order was confirmed all the same (its commit came late): the units are still there, so they are sold.
  const commits = await handledCount('inventory.commands', 'inventory.commit.v1');
  await t.bus.publish('inventory.commit.v1', { orderId, tenantId: TENANT });
  await t.untilAcked('inventory.commands', 'inventory.commit.v1', commits + 1);
  assert.equal(await t.reservationStatus(orderId), 'committed');
  assert.deepEqual([(await t.product('E-A')).stock, (await t.product('E-A')).reserved], [2, 0]);
  assert.equal((await t.product('E-B')).stock, 4);
});

test('a late commit whose units are gone leaves the reservation unfilled, stock never below zero, and is counted for an operator', async () => {
  const orderId = randomUUID();
  await t.bus.publish('inventory.reserve.v1', { orderId, tenantId: TENANT, items: [{ sku: 'E-C', quantity: 4 }] });
  await t.bus.waitFor('inventory.reserved.v1', (p) => p.orderId === orderId);
  await eventually(async () => (await t.reservationStatus(orderId)) === 'expired', 15000, 50, 'expired');
  // meanwhile someone else bought what it held
  const other = randomUUID();
  await t.bus.publish('inventory.reserve.v1', { orderId: other, tenantId: TENANT, items: [{ sku: 'E-C', quantity: 3 }] });
  await t.bus.waitFor('inventory.reserved.v1', (p) => p.orderId === other);
  const commits = await handledCount('inventory.commands', 'inventory.commit.v1');
  await t.bus.publish('inventory.commit.v1', { orderId, tenantId: TENANT });
  await t.untilAcked('inventory.commands', 'inventory.commit.v1', commits + 1);
  assert.equal(await t.reservationStatus(orderId), 'unfilled');
  const c = await t.product('E-C');
  assert.ok(c.stock >= 0 && c.available >= 0, JSON.stringify(c));
  const metrics = await (await fetch(`${t.base}/metrics`)).text();
  assert.match(metrics, /^inventory_commits_unfilled_total 1$/m);
});

test('a reservation committed in time is sold and does not expire afterwards', async () => {
  const orderId = randomUUID();
  await t.bus.publish('inventory.reserve.v1', { orderId, tenantId: TENANT, items: [{ sku: 'E-B', quantity: 2 }] });
  await t.bus.waitFor('inventory.reserved.v1', (p) => p.orderId === orderId);
  // a control reservation made after it, never committed: once the expiry has taken it, it has passed the first's TTL too
  const control = randomUUID();
  await t.bus.publish('inventory.reserve.v1', { orderId: control, tenantId: TENANT, items: [{ sku: 'E-C', quantity: 1 }] });
  await t.bus.waitFor('inventory.reserved.v1', (p) => p.orderId === control);
  const commits = await handledCount('inventory.commands', 'inventory.commit.v1');
  await t.bus.publish('inventory.commit.v1', { orderId, tenantId: TENANT });
  await t.untilAcked('inventory.commands', 'inventory.commit.v1', commits + 1);
  await eventually(async () => (await t.reservationStatus(control)) === 'expired', 15000, 50, 'the control reservation expired');
  const p = await t.product('E-B');
  assert.deepEqual([p.stock, p.reserved, p.available], [2, 0, 2], 'the first test sold one of its five, this one two');
  assert.equal(await t.reservationStatus(orderId), 'committed');
});
