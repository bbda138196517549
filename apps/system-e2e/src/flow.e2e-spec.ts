import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, readSse } from '@orders/testing';
import { Api, orderBody, System } from './system';

/** An order's whole path through the four services, as processes, on the real broker and database. */
let sys: System;
let api: Api;

before(async () => {
  sys = await System.start({ env: { RETRY_DELAYS_MS: '200,500', LOG_LEVEL: 'warn' } });
  api = new Api(sys);
  await api.putProduct('SKU-A', { name: 'Alpha', priceCents: 1250, currency: 'EUR', stock: 10 });
  await api.putProduct('SKU-B', { name: 'Beta', priceCents: 990, currency: 'EUR', stock: 1 });
});

after(async () => {
  await sys?.stop();
});

const FINAL = ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'];

async function mailTo(address: string, expected = 1) {
  const found = await eventually(async () => {
    const msgs = (await api.mail()).filter((m) => m.To.some((t) => t.Address === address));
    return msgs.length >= expected ? msgs : undefined;
  }, 15000, 100, `email to ${address}`);
  await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive right behind
  return (await api.mail()).filter((m) => m.To.some((t) => t.Address === address)) ?? found;
}

test('a confirmed order: 202 at once, pushed to a plain EventSource until final, priced, stock moved, customer emailed', async () => {
  const placed = await api.placeOrder(orderBody({ sku: 'SKU-A', quantity: 2, email: 'confirmed@example.com' }));
  assert.equal(placed.status, 202);
  const id = placed.body.id;
  assert.equal(placed.headers.get('location'), `/orders/${id}`);
  assert.equal(placed.body.status, 'PENDING');
  assert.ok(placed.body.links.events, 'links.events');

  // What a browser's EventSource does: a GET with no custom headers.
  const sse = await readSse(new URL(placed.body.links.events, sys.url('order-receiving')).toString(), { timeoutMs: 20000 });
  assert.equal(sse.status, 200);
  assert.match(sse.contentType ?? '', /^text\/event-stream/);
  assert.deepEqual(sse.events.map((e) => e.event), ['PENDING', 'PROCESSING', 'CONFIRMED']);
  assert.deepEqual(sse.events.map((e) => Number(e.id)), [1, 2, 3]);
  assert.equal(sse.closedByServer, true, 'the stream closes after the final state');
  assert.equal(JSON.parse(sse.events[2].data).status, 'CONFIRMED');

  const order = await api.order(id);
  assert.equal(order.status, 'CONFIRMED');
  assert.deepEqual(order.totals, { subtotalCents: 2500, discountCents: 0, totalCents: 2500, currency: 'EUR' });
  assert.deepEqual(
    (order.items as Array<{ sku: string; quantity: number; unitPriceCents: number }>).map((i) => [i.sku, i.quantity, i.unitPriceCents]),
    [['SKU-A', 2, 1250]],
  );
  assert.deepEqual(order.history.map((h) => h.status), ['PENDING', 'PROCESSING', 'CONFIRMED']);

  const product = await api.product('SKU-A');
  assert.equal(product.stock, 8);
  assert.equal(product.reserved, 0);

  assert.equal((await mailTo('confirmed@example.com')).length, 1);
});

test('an out-of-stock order is rejected with out_of_stock and reserves nothing', async () => {
  const placed = await api.placeOrder(orderBody({ items: [{ sku: 'SKU-A', quantity: 1 }, { sku: 'SKU-B', quantity: 2 }], email: 'oos@example.com' }));
  assert.equal(placed.status, 202);
  const order = await eventually(async () => {
    const o = await api.order(placed.body.id);
    return FINAL.includes(o.status) ? o : undefined;
  }, 20000, 100, 'final state');
  assert.equal(order.status, 'REJECTED');
  assert.equal(order.rejectionReason, 'out_of_stock');
  const [a, b] = [await api.product('SKU-A'), await api.product('SKU-B')];
  assert.deepEqual([a.stock, a.reserved, b.stock, b.reserved], [8, 0, 1, 0]);
  assert.equal((await mailTo('oos@example.com')).length, 1);
});

test('a declined payment rejects the order with payment_declined and releases its stock', async () => {
  const placed = await api.placeOrder(orderBody({ sku: 'SKU-A', quantity: 3, token: 'tok_decline', email: 'declined@example.com' }));
  const sse = await readSse(new URL(placed.body.links.events, sys.url('order-receiving')).toString(), { timeoutMs: 20000 });
  assert.deepEqual(sse.events.map((e) => e.event), ['PENDING', 'PROCESSING', 'REJECTED']);
  const order = await api.order(placed.body.id);
  assert.equal(order.rejectionReason, 'payment_declined');
  const a = await eventually(async () => {
    const p = await api.product('SKU-A');
    return p.reserved === 0 ? p : undefined;
  }, 10000, 100, 'reservation released');
  assert.equal(a.stock, 8);
  assert.equal((await mailTo('declined@example.com')).length, 1);
});
