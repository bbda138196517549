import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { OrderLineV1 } from '@orders/contracts';
import { eventually, handledCount, statementsSent } from '@orders/testing';
import { TestApp } from '../../test/test-app';

const TENANT = 'demo';
let t: TestApp;

before(async () => {
  t = await TestApp.start({ RESERVATION_TTL_SECONDS: '600' }, [
    'inventory.reserved.v1', 'inventory.reservation-rejected.v1',
  ]);
  const products: Array<[string, string, number, string, number]> = [
    ['R-A', 'Alpha', 1250, 'EUR', 10],
    ['R-B', 'Beta', 990, 'EUR', 1],
    ['R-U', 'Usd thing', 500, 'USD', 5],
  ];
  for (const [sku, name, priceCents, currency, stock] of products) {
    assert.equal((await t.putProduct(sku, { name, priceCents, currency, stock })).status, 201);
  }
});
after(async () => {
  await t?.stop();
});

const reserve = (orderId: string, items: OrderLineV1[], id?: string) => t.bus.publish('inventory.reserve.v1', { orderId, tenantId: TENANT, items }, { id });
const forOrder = (orderId: string) => (p: { orderId: string }) => p.orderId === orderId;
const stockOf = async (sku: string) => {
  const p = await t.product(sku);
  return [p.stock, p.reserved, p.available];
};

/** Reserves and waits for the outcome. */
async function reserved(items: OrderLineV1[]) {
  const orderId = randomUUID();
  await reserve(orderId, items);
  return (await t.bus.waitFor('inventory.reserved.v1', forOrder(orderId))).payload;
}

test('a reservation prices every line at the current price and holds the stock', async () => {
  const before = Date.now();
  const r = await reserved([{ sku: 'R-A', quantity: 2 }, { sku: 'R-B', quantity: 1 }]);
  assert.equal(r.tenantId, TENANT);
  assert.equal(r.currency, 'EUR');
  assert.deepEqual(JSON.parse(JSON.stringify(r.lines)), [
    { sku: 'R-A', name: 'Alpha', quantity: 2, unitPriceCents: 1250 },
    { sku: 'R-B', name: 'Beta', quantity: 1, unitPriceCents: 990 },
  ]);
  const ttl = Date.parse(r.expiresAt) - before;
  assert.ok(ttl > 590_000 && ttl < 620_000, `expires in about RESERVATION_TTL_SECONDS (got ${ttl} ms)`);
  assert.deepEqual(await stockOf('R-A'), [10, 2, 8]);
  assert.deepEqual(await stockOf('R-B'), [1, 1, 0]);

  // Undo, so the following tests start from full stock.
  await t.bus.publish('inventory.release.v1', { orderId: r.orderId, tenantId: TENANT, reason: 'test' });
  await eventually(async () => (await t.product('R-B')).reserved === 0, 5000, 50, 'release');
});

test('an order with one short line reserves nothing at all (out_of_stock names the short sku)', async () => {
  const orderId = randomUUID();
  await reserve(orderId, [{ sku: 'R-A', quantity: 3 }, { sku: 'R-B', quantity: 2 }]);
  const rej = await t.bus.waitFor('inventory.reservation-rejected.v1', forOrder(orderId));
  assert.equal(rej.payload.reason, 'out_of_stock');
  assert.deepEqual(rej.payload.skus, ['R-B']);
  assert.deepEqual(await stockOf('R-A'), [10, 0, 10]);
  assert.deepEqual(await stockOf('R-B'), [1, 0, 1]);
});

test('duplicate lines of one sku count together against its stock', async () => {
  const orderId = randomUUID();
  await reserve(orderId, [{ sku: 'R-B', quantity: 1 }, { sku: 'R-B', quantity: 1 }]);
  const rej = await t.bus.waitFor('inventory.reservation-rejected.v1', forOrder(orderId));
  assert.equal(rej.payload.reason, 'out_of_stock');
  assert.deepEqual(await stockOf('R-B'), [1, 0, 1]);
});

test('an unknown sku rejects the order with unknown_product and reserves nothing', async () => {
  const orderId = randomUUID();
  await reserve(orderId, [{ sku: 'R-A', quantity: 1 }, { sku: 'R-NOPE', quantity: 1 }]);
  const rej = await t.bus.waitFor('inventory.reservation-rejected.v1', forOrder(orderId));
  assert.equal(rej.payload.reason, 'unknown_product');
  assert.deepEqual(rej.payload.skus, ['R-NOPE']);
  assert.deepEqual(await stockOf('R-A'), [10, 0, 10]);
});

test('products in different currencies reject the order with mixed_currency', async () => {
  const orderId = randomUUID();
  await reserve(orderId, [{ sku: 'R-A', quantity: 1 }, { sku: 'R-U', quantity: 1 }]);
  const rej = await t.bus.waitFor('inventory.reservation-rejected.v1', forOrder(orderId));
  assert.equal(rej.payload.reason, 'mixed_currency');
  assert.deepEqual(rej.payload.skus, ['R-U']);
  assert.deepEqual(await stockOf('R-A'), [10, 0, 10]);
  assert.deepEqual(await stockOf('R-U'), [5, 0, 5]);
});

test('a redelivered reserve message (same message id) has no second effect', async () => {
  const orderId = randomUUID();
  const env = await reserve(orderId, [{ sku: 'R-U', quantity: 2 }]);
  await t.bus.waitFor('inventory.reserved.v1', forOrder(orderId));
  const acked = await handledCount('inventory.commands', 'inventory.reserve.v1');
  await reserve(orderId, [{ sku: 'R-U', quantity: 2 }], env.id);
  await t.untilAcked('inventory.commands', 'inventory.reserve.v1', acked + 1);
  assert.equal(t.bus.messages('inventory.reserved.v1', forOrder(orderId)).length, 1, 'no second reply');
  assert.deepEqual(await stockOf('R-U'), [5, 2, 3]);
});

test('a second reserve command for the same order re-publishes the outcome without reserving twice', async () => {
  const first = await reserved([{ sku: 'R-A', quantity: 4 }]);
  await reserve(first.orderId, [{ sku: 'R-A', quantity: 4 }]);
  await eventually(() => t.bus.messages('inventory.reserved.v1', forOrder(first.orderId)).length === 2, 5000, 20, 'second reply');
  const second = t.bus.messages('inventory.reserved.v1', forOrder(first.orderId))[1].payload;
  assert.deepEqual(second, first);
  assert.deepEqual(await stockOf('R-A'), [10, 4, 6]);

  // A rejected order is rejected again, the same way.
  const orderId = randomUUID();
  await reserve(orderId, [{ sku: 'R-B', quantity: 5 }]);
  await t.bus.waitFor('inventory.reservation-rejected.v1', forOrder(orderId));
  await t.putProduct('R-B', { name: 'Beta', priceCents: 990, currency: 'EUR', stock: 50 });
  await reserve(orderId, [{ sku: 'R-B', quantity: 5 }]);
  await eventually(() => t.bus.messages('inventory.reservation-rejected.v1', forOrder(orderId)).length === 2, 5000, 20, 'second rejection');
  assert.equal(t.bus.messages('inventory.reserved.v1', forOrder(orderId)).length, 0);
  assert.deepEqual(await stockOf('R-B'), [50, 0, 50]);
  await t.putProduct('R-B', { name: 'Beta', priceCents: 990, currency: 'EUR', stock: 1 });
});

/** Publishes a commit and waits until inventory has handled it (a commit answers nothing: the order is confirmed already). */
async function commit(orderId: string, skus?: string[]): Promise<void> {
  const acked = await handledCount('inventory.commands', 'inventory.commit.v1');
  await t.bus.publish('inventory.commit.v1', { orderId, tenantId: TENANT, ...(skus ? { skus } : {}) });
  await t.untilAcked('inventory.commands', 'inventory.commit.v1', acked + 1);
}

test('commit sells the reserved units once, and answers nothing; committing again changes nothing', async () => {
  const start = await t.product('R-A');
  const r = await reserved([{ sku: 'R-A', quantity: 3 }]);
  await commit(r.orderId);
  assert.deepEqual(await stockOf('R-A'), [start.stock - 3, start.reserved, start.available - 3]);
  assert.equal(await t.reservationStatus(r.orderId), 'committed');
  await commit(r.orderId);
  assert.deepEqual(await stockOf('R-A'), [start.stock - 3, start.reserved, start.available - 3]);
});

/** The statements the service sends for `orderId` (or for stock) while `fn` runs (a statement's first use on a connection, PREPARE, left out). */
async function statementsFor(orderId: string, fn: () => Promise<unknown>): Promise<string[]> {
  return (await statementsSent(fn)).map((s) => s.text).filter((text) => (text.includes(orderId) || text.startsWith('EXECUTE stock_')) && !text.startsWith('PREPARE '));
}

test('a commit naming its skus costs two round trips (reservation and products locked with its inbox row, then the sale with the COMMIT); one from the previous version, naming none, sells the same', async () => {
  assert.equal((await t.putProduct('R-C', { name: 'Gamma', priceCents: 100, currency: 'EUR', stock: 10 })).status, 201);
  const r = await reserved([{ sku: 'R-C', quantity: 2 }]);
  const sent = await statementsFor(r.orderId, () => commit(r.orderId, ['R-C']));
  assert.equal(sent.length, 2, `statements sent for the commit:\n${sent.join('\n---\n')}`);
  assert.equal(await t.reservationStatus(r.orderId), 'committed');
  assert.deepEqual(await stockOf('R-C'), [8, 0, 8]);

  const old = await reserved([{ sku: 'R-C', quantity: 1 }]);
  const oldSent = await statementsFor(old.orderId, () => commit(old.orderId));
  assert.equal(oldSent.length, 3, 'without skus the products are locked in a round trip of their own');
  // skus that are not the reservation's: its own products are locked all the same before they move
  const other = await reserved([{ sku: 'R-C', quantity: 1 }]);
  const otherSent = await statementsFor(other.orderId, () => commit(other.orderId, ['R-U']));
  assert.equal(otherSent.length, 3);
  assert.match(otherSent[1], /stock_lock_products\('\{"?R-C"?\}'\)/);
  assert.deepEqual(await stockOf('R-C'), [6, 0, 6]);
  assert.equal(await t.reservationStatus(other.orderId), 'committed');
});

test('a release after the commit (a cancel that lost the race) puts the sold units back in stock, once', async () => {
  const start = await t.product('R-A');
  const r = await reserved([{ sku: 'R-A', quantity: 2 }]);
  await commit(r.orderId);
  assert.deepEqual(await stockOf('R-A'), [start.stock - 2, start.reserved, start.available - 2]);
  await t.bus.publish('inventory.release.v1', { orderId: r.orderId, tenantId: TENANT, reason: 'cancelled_by_customer' });
  await eventually(async () => (await t.reservationStatus(r.orderId)) === 'returned', 5000, 50, 'returned');
  assert.deepEqual(await stockOf('R-A'), [start.stock, start.reserved, start.available]);
  const acked = await handledCount('inventory.commands', 'inventory.release.v1');
  await t.bus.publish('inventory.release.v1', { orderId: r.orderId, tenantId: TENANT, reason: 'again' });
  await t.untilAcked('inventory.commands', 'inventory.release.v1', acked + 1);
  assert.deepEqual(await stockOf('R-A'), [start.stock, start.reserved, start.available], 'a second release returns nothing more');
});

test('release returns the units once; a later commit (confirmed after all) sells from what is available', async () => {
  const start = await t.product('R-U');
  const r = await reserved([{ sku: 'R-U', quantity: 1 }]);
  assert.equal((await t.product('R-U')).reserved, start.reserved + 1);
  await t.bus.publish('inventory.release.v1', { orderId: r.orderId, tenantId: TENANT, reason: 'payment_declined' });
  await eventually(async () => (await t.product('R-U')).reserved === start.reserved, 5000, 50, 'release');
  await t.bus.publish('inventory.release.v1', { orderId: r.orderId, tenantId: TENANT, reason: 'again' });
  await commit(r.orderId);
  assert.equal(await t.reservationStatus(r.orderId), 'committed');
  assert.deepEqual(await stockOf('R-U'), [start.stock - 1, start.reserved, start.available - 1]);
});

test('commit of an order that never reserved moves no stock (logged and counted for an operator); release of it changes nothing', async () => {
  const orderId = randomUUID();
  const before = await Promise.all(['R-A', 'R-B', 'R-U'].map(stockOf));
  await t.bus.publish('inventory.release.v1', { orderId, tenantId: TENANT, reason: 'cancel' });
  await commit(orderId);
  assert.deepEqual(await Promise.all(['R-A', 'R-B', 'R-U'].map(stockOf)), before);
  assert.match(await (await fetch(`${t.base}/metrics`)).text(), /^inventory_commits_unfilled_total [1-9]/m);
});

test('stock cannot be set below what is reserved (409), and the product is left as it was', async () => {
  const r = await reserved([{ sku: 'R-B', quantity: 1 }]);
  const res = await t.putProduct('R-B', { name: 'Beta', priceCents: 990, currency: 'EUR', stock: 0 });
  assert.equal(res.status, 409);
  assert.match(String(res.body.message), /reserved/);
  assert.deepEqual(await stockOf('R-B'), [1, 1, 0]);
  await t.bus.publish('inventory.release.v1', { orderId: r.orderId, tenantId: TENANT, reason: 'test' });
  await eventually(async () => (await t.product('R-B')).reserved === 0, 5000, 50, 'release');
  assert.equal((await t.putProduct('R-B', { name: 'Beta', priceCents: 990, currency: 'EUR', stock: 0 })).status, 200);
});

test('nothing was dead-lettered', async () => {
  assert.equal(await t.bus.queueDepth(`${t.cfg.MQ_PREFIX}.inventory.commands.dlq`), 0);
});
