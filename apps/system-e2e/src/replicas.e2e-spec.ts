import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readSse } from '@orders/testing';
import { Api, orderBody, System } from './system';

/** Two order-receiving instances behind one storefront: either serves any order's stream, and a key is honoured across both. */
let sys: System;
let api: Api;
let second: string;

before(async () => {
  sys = await System.start({ env: { RETRY_DELAYS_MS: '200,500', LOG_LEVEL: 'warn' } });
  api = new Api(sys);
  second = await sys.launchReplica('order-receiving');
  await api.putProduct('SKU-R', { name: 'Replica', priceCents: 700, currency: 'EUR', stock: 100 });
});

after(async () => {
  await sys?.stop();
});

test('an order placed on one instance is streamed, live, by the other', async () => {
  // Slow the gateway down so the stream on the second instance is open before the order finishes.
  await fetch(`${sys.url('payment-gateway-sim')}/control`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs: 1500 }) });
  try {
    const placed = await api.placeOrder(orderBody({ sku: 'SKU-R', email: 'replica@example.com' }));
    assert.equal(placed.status, 202);
    const sse = await readSse(`${second}${placed.body.links.events}`, { timeoutMs: 20000 });
    assert.equal(sse.status, 200);
    assert.deepEqual(sse.events.map((e) => e.event), ['PENDING', 'PROCESSING', 'CONFIRMED']);
    assert.ok(sse.events[2].at > 1000, 'CONFIRMED arrived live, not as a replay');
    assert.equal(sse.closedByServer, true);
  } finally {
    await fetch(`${sys.url('payment-gateway-sim')}/control`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs: 0 }) });
  }
});

test('the same Idempotency-Key sent to both instances at once creates one order', async () => {
  const key = `both-${Date.now()}`;
  const body = JSON.stringify(orderBody({ sku: 'SKU-R', email: 'twice@example.com' }));
  const send = (base: string) =>
    fetch(`${base}/orders`, {
      method: 'POST',
      headers: { authorization: 'Bearer demo-key', 'content-type': 'application/json', 'idempotency-key': key },
      body,
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as { id: string } }));
  const answers = await Promise.all([send(sys.url('order-receiving')), send(second), send(sys.url('order-receiving')), send(second)]);
  assert.deepEqual(answers.map((a) => a.status), [202, 202, 202, 202]);
  assert.equal(new Set(answers.map((a) => a.body.id)).size, 1, 'every answer names the same order');
  const list = await fetch(`${sys.url('order-receiving')}/orders?limit=100`, { headers: { authorization: 'Bearer demo-key' } });
  const items = ((await list.json()) as { items: Array<{ id: string; customer: { email: string } }> }).items;
  assert.equal(items.filter((o) => o.customer.email === 'twice@example.com').length, 1);
});
