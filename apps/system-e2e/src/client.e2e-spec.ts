import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OrderEvent, OrdersApiError, OrdersClient } from '@orders/client';
import { eventually, TcpProxy } from '@orders/testing';
import { Api, orderBody, ServiceName, System } from './system';

/** @orders/client against the whole system as processes; the event stream also through a TCP proxy a test can cut. */
let sys: System;
let api: Api;
let proxy: TcpProxy;
let client: OrdersClient;
let viaProxy: OrdersClient;

before(async () => {
  sys = new System({ env: { RETRY_DELAYS_MS: '200,500', LOG_LEVEL: 'warn' } });
  await sys.init();
  const names: ServiceName[] = ['mail-catcher', 'payment-gateway-sim', 'inventory', 'order-processing', 'notification', 'order-receiving'];
  await Promise.all(names.map((n) => sys.launch(n)));
  await Promise.all(names.map((n) => sys.waitReady(n)));
  api = new Api(sys);
  await api.putProduct('SKU-C', { name: 'Gamma', priceCents: 700, currency: 'EUR', stock: 100 });
  proxy = new TcpProxy('127.0.0.1', sys.ports['order-receiving']);
  await proxy.start();
  client = new OrdersClient({ baseUrl: sys.url('order-receiving'), apiKey: 'demo-key' });
  viaProxy = new OrdersClient({ baseUrl: `http://127.0.0.1:${proxy.port}` });
});

after(async () => {
  await proxy?.stop();
  await sys?.stop();
});

const gateway = (control: { outage?: boolean; latencyMs?: number; errorRate?: number }) =>
  fetch(`${sys.url('payment-gateway-sim')}/control`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(control) });

test('placeOrder → followOrder(links) yields PENDING, PROCESSING, CONFIRMED once each; the same key replays the same order', async () => {
  const placed = await client.placeOrder(orderBody({ sku: 'SKU-C', quantity: 2 }));
  assert.equal(placed.final, false);
  if (placed.final) return;
  const seen: OrderEvent[] = [];
  for await (const e of client.followOrder(placed.accepted)) seen.push(e);
  assert.deepEqual(seen.map((e) => e.status), ['PENDING', 'PROCESSING', 'CONFIRMED']);
  assert.deepEqual(seen.map((e) => e.sequence), [1, 2, 3]);
  assert.equal(seen[2].totals?.totalCents, 1400);
  const again = await client.placeOrder(orderBody({ sku: 'SKU-C', quantity: 2 }), { idempotencyKey: placed.idempotencyKey });
  assert.equal(again.final ? again.order.id : again.accepted.id, placed.accepted.id);
  const order = await client.getOrder(placed.accepted.id);
  assert.equal(order.status, 'CONFIRMED');
});

test('placeAndWait returns the final declined order with its reason; callbacks report it as final', async () => {
  const r = await client.placeAndWait(orderBody({ sku: 'SKU-C', token: 'tok_decline' }), { waitSeconds: 20 });
  assert.equal(r.final, true);
  if (!r.final) return;
  assert.equal(r.order.status, 'REJECTED');
  assert.equal(r.order.rejectionReason, 'payment_declined');
  // Following a final order by id (server side, with the key) delivers its history and ends.
  const events: string[] = [];
  const follower = client.followOrder(r.order.id, { onEvent: (e) => events.push(e.status) });
  const final = await follower.finished;
  assert.equal(final.status, 'REJECTED');
  assert.deepEqual(events, ['PENDING', 'PROCESSING', 'REJECTED']);
});

test('a connection cut mid-stream resumes with Last-Event-ID: the status reached during the cut arrives, nothing twice', async () => {
  await gateway({ outage: true }); // the order waits for the payment provider: PROCESSING for as long as the test needs
  try {
    const placed = await client.placeOrder(orderBody({ sku: 'SKU-C' }));
    if (placed.final) assert.fail('not final yet');
    const seen: OrderEvent[] = [];
    let reconnects = 0;
    const follower = viaProxy.followOrder(placed.accepted, {
      maxReconnectDelayMs: 300,
      onEvent: (e) => seen.push(e),
      onReconnect: () => reconnects++,
    });
    await eventually(() => seen.some((e) => e.status === 'PROCESSING'), 20000, 50, 'PROCESSING on the stream');
    proxy.refuse(true);
    proxy.dropAll(); // the network goes away…
    await eventually(() => reconnects > 0, 10000, 20, 'the client noticed the cut');
    await client.cancelOrder(placed.accepted.id); // …while the order ends
    await eventually(async () => (await client.getOrder(placed.accepted.id)).status === 'CANCELLED', 20000, 100, 'cancelled');
    proxy.refuse(false); // …and comes back
    const final = await follower.finished;
    assert.equal(final.status, 'CANCELLED');
    assert.deepEqual(seen.map((e) => e.status), ['PENDING', 'PROCESSING', 'CANCELLED']);
    assert.deepEqual(seen.map((e) => e.sequence), [1, 2, 3]);
  } finally {
    proxy.refuse(false);
    await gateway({ outage: false });
  }
});

test('listOrders walks every page; errors are typed with the contract fields', async () => {
  const pages: string[][] = [];
  for await (const page of client.listOrders({ limit: 1 })) pages.push(page.map((o) => o.id));
  assert.ok(pages.length >= 3, `pages: ${pages.length}`);
  assert.equal(new Set(pages.flat()).size, pages.flat().length, 'no order twice');

  const invalid = await client.placeOrder({ ...orderBody(), items: [] } as never).catch((e: unknown) => e);
  assert.ok(invalid instanceof OrdersApiError);
  assert.equal(invalid.statusCode, 400);
  assert.equal(invalid.error, 'Bad Request');
  assert.ok(JSON.stringify(invalid.details).includes('items'), 'details name the field');
  assert.ok(invalid.idempotencyKey, 'the key to retry with');

  const [first] = pages[0];
  const conflict = await client.cancelOrder(first).catch((e: unknown) => e);
  assert.ok(conflict instanceof OrdersApiError);
  assert.equal(conflict.statusCode, 409);

  const missing = await client.getOrder('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
  assert.ok(missing instanceof OrdersApiError && missing.isNotFound);

  const noKey = await new OrdersClient({ baseUrl: sys.url('order-receiving'), apiKey: 'wrong-key-123' }).getOrder(first).catch((e: unknown) => e);
  assert.ok(noKey instanceof OrdersApiError);
  assert.equal(noKey.statusCode, 401);
});
