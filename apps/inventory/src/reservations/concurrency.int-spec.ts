import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { DataSource } from 'typeorm';
import { TestApp } from '../../test/test-app';

/** Many reserve commands at once against scarce stock: all or nothing, never oversold. */
let t: TestApp;
const TENANT = 'demo';
const ORDERS = 1000;
const STOCK = 100;

before(async () => {
  t = await TestApp.start({ RESERVATION_TTL_SECONDS: '600', CONSUMER_CONCURRENCY: '16' }, [
    'inventory.reserved.v1', 'inventory.reservation-rejected.v1',
  ]);
});
after(async () => {
  await t?.stop();
});

const outcomes = (ids: Set<string>) => ({
  reserved: t.bus.messages('inventory.reserved.v1', (p) => ids.has(p.orderId)),
  rejected: t.bus.messages('inventory.reservation-rejected.v1', (p) => ids.has(p.orderId)),
});

test(`${ORDERS} one-unit orders at once against ${STOCK} units: exactly ${STOCK} reserved, the rest out_of_stock`, async () => {
  assert.equal((await t.putProduct('HOT', { name: 'Hot item', priceCents: 999, currency: 'EUR', stock: STOCK })).status, 201);
  const ids = new Set(Array.from({ length: ORDERS }, () => randomUUID()));
  const started = Date.now();
  await Promise.all([...ids].map((orderId) => t.bus.publish('inventory.reserve.v1', { orderId, tenantId: TENANT, items: [{ sku: 'HOT', quantity: 1 }] })));
  await eventually(() => {
    const o = outcomes(ids);
    return o.reserved.length + o.rejected.length >= ORDERS;
  }, 60000, 50, 'every order answered');
  const elapsed = Date.now() - started;

  const o = outcomes(ids);
  assert.equal(o.reserved.length, STOCK);
  assert.equal(o.rejected.length, ORDERS - STOCK);
  assert.ok(o.rejected.every((m) => m.payload.reason === 'out_of_stock' && m.payload.skus[0] === 'HOT'));
  assert.equal(new Set([...o.reserved, ...o.rejected].map((m) => m.payload.orderId)).size, ORDERS, 'one outcome per order');
  assert.deepEqual(await t.product('HOT'), { sku: 'HOT', name: 'Hot item', priceCents: 999, currency: 'EUR', stock: STOCK, reserved: STOCK, available: 0 });
  const held: Array<{ n: number }> = await t.app.get(DataSource).query(`SELECT count(*)::int AS n FROM reservations WHERE status = 'reserved'`);
  assert.equal(held[0].n, STOCK);
  process.stdout.write(`# ${ORDERS} reserve commands answered in ${elapsed} ms\n`);
});

test('orders naming the same skus in opposite order neither deadlock nor oversell, and stay all-or-nothing', async () => {
  const PER = 40;
  const N = 100;
  for (const sku of ['X-1', 'X-2']) assert.equal((await t.putProduct(sku, { name: sku, priceCents: 100, currency: 'EUR', stock: PER })).status, 201);
  const ids = [...Array(N)].map(() => randomUUID());
  await Promise.all(ids.map((orderId, i) => {
    const items = i % 2 ? [{ sku: 'X-1', quantity: 1 }, { sku: 'X-2', quantity: 1 }] : [{ sku: 'X-2', quantity: 1 }, { sku: 'X-1', quantity: 1 }];
    return t.bus.publish('inventory.reserve.v1', { orderId, tenantId: TENANT, items });
  }));
  const set = new Set(ids);
  await eventually(() => {
    const o = outcomes(set);
    return o.reserved.length + o.rejected.length >= N;
  }, 20000, 50, 'every order answered');
  const o = outcomes(set);
  assert.equal(o.reserved.length, PER);
  assert.equal(o.rejected.length, N - PER);
  for (const sku of ['X-1', 'X-2']) {
    const p = await t.product(sku);
    assert.deepEqual([p.stock, p.reserved, p.available], [PER, PER, 0]);
  }
  assert.equal(await t.bus.queueDepth(`${t.cfg.MQ_PREFIX}.inventory.commands.dlq`), 0, 'no command failed for good');
});
