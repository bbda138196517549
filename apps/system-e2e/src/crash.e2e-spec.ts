import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@orders/testing';
import { Api, orderBody, System } from './system';

/**
 * order-processing is killed with SIGKILL (no shutdown hooks) in the middle of
 * a batch and started again: every accepted order still ends in a final state,
 * stock moves exactly once per order and no order is authorized twice.
 */
let sys: System;
let api: Api;
const ORDERS = 60;

before(async () => {
  sys = await System.start({ env: { RETRY_DELAYS_MS: '200,500,1000', LOG_LEVEL: 'warn' } });
  api = new Api(sys);
  await api.putProduct('SKU-C', { name: 'Gamma', priceCents: 500, currency: 'EUR', stock: 1000 });
});

after(async () => {
  await sys?.stop();
});

test('kill -9 of order-processing mid-batch loses no order and applies no effect twice', async () => {
  const ids: string[] = [];
  let killed = false;
  const place = async (i: number) => {
    const r = await api.placeOrder(orderBody({ sku: 'SKU-C', quantity: 1, email: `crash${i}@example.com` }));
    assert.equal(r.status, 202);
    ids.push(r.body.id);
  };
  for (let i = 0; i < ORDERS; i += 5) {
    await Promise.all([0, 1, 2, 3, 4].map((k) => place(i + k)));
    if (!killed && i >= ORDERS / 3) {
      await sys.kill('order-processing', 'SIGKILL');
      killed = true;
    }
  }
  assert.ok(killed);
  await sys.launch('order-processing');
  await sys.waitReady('order-processing');

  const finals = await eventually(async () => {
    const orders = await Promise.all(ids.map((id) => api.order(id)));
    return orders.every((o) => ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'].includes(o.status)) ? orders : undefined;
  }, 60000, 500, 'every order final');
  assert.equal(finals.filter((o) => o.status === 'CONFIRMED').length, ORDERS, 'all confirmed');
  for (const o of finals) {
    const statuses = o.history.map((h) => h.status);
    assert.deepEqual(statuses, ['PENDING', 'PROCESSING', 'CONFIRMED'], `history of ${String(o.id)}`);
  }

  const product = await eventually(async () => {
    const p = await api.product('SKU-C');
    return p.reserved === 0 ? p : undefined;
  }, 10000, 200, 'no stock left reserved');
  assert.equal(product.stock, 1000 - ORDERS, 'stock moved exactly once per order');

  const auths = await Promise.all(
    ids.map(async (id) => {
      const res = await fetch(`${sys.url('payment-gateway-sim')}/authorizations?orderId=${id}`);
      return ((await res.json()) as { items: unknown[] }).items.length;
    }),
  );
  assert.deepEqual(new Set(auths), new Set([1]), 'one authorization per order');
});
