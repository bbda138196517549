import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, readSse } from '@orders/testing';
import { Api, orderBody, System } from './system';

/**
 * Two instances of every service (what `REPLICAS=2 npm start` runs) behave as one: orders placed
 * alternately on both storefront instances, each followed from the other one, all end, stock is
 * exact (never oversold across two inventory instances) and every customer gets exactly one email.
 */
let sys: System;
let api: Api;
let receiving: string[];

before(async () => {
  sys = await System.start({ env: { RETRY_DELAYS_MS: '200,500', LOG_LEVEL: 'warn' } });
  api = new Api(sys);
  await Promise.all((['inventory', 'order-processing', 'notification', 'order-receiving'] as const).map((n) => sys.launchReplica(n)));
  receiving = sys.instanceUrls('order-receiving');
  assert.equal(receiving.length, 2);
  await api.putProduct('SKU-SCALE', { name: 'Scaled', priceCents: 1200, currency: 'EUR', stock: 10 });
});

after(async () => {
  await sys?.stop();
});

const FINAL = ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'];

test('orders placed on both instances, each streamed by the other: all final, stock exact, one email each', async () => {
  const orders = 12; // two more than the stock
  const runs = Array.from({ length: orders }, async (_, i) => {
    const [placeOn, streamFrom] = i % 2 === 0 ? receiving : [...receiving].reverse();
    const res = await fetch(`${placeOn}/orders`, {
      method: 'POST',
      headers: { authorization: 'Bearer demo-key', 'content-type': 'application/json', 'idempotency-key': `scale-${i}` },
      body: JSON.stringify(orderBody({ sku: 'SKU-SCALE', email: `scale-${i}@example.com` })),
    });
    assert.equal(res.status, 202);
    const placed = (await res.json()) as { id: string; links: { events: string } };
    const sse = await readSse(`${streamFrom}${placed.links.events}`, { timeoutMs: 60000 });
    assert.equal(sse.status, 200, `stream of order ${i} from the other instance`);
    assert.equal(sse.closedByServer, true, `stream of order ${i} closed after its final state`);
    const statuses = sse.events.map((e) => e.event);
    assert.equal(statuses[0], 'PENDING');
    assert.deepEqual(sse.events.map((e) => Number(e.id)), statuses.map((_, k) => k + 1), 'every sequence once, in order');
    const last = statuses[statuses.length - 1];
    assert.ok(FINAL.includes(last), `order ${i} ended ${last}`);
    const order = (await (await fetch(`${placeOn}/orders/${placed.id}`, { headers: { authorization: 'Bearer demo-key' } })).json()) as {
      status: string;
      rejectionReason?: string;
    };
    assert.equal(order.status, last, 'the read model agrees with the stream');
    return order;
  });
  const finals = await Promise.all(runs);

  const confirmed = finals.filter((o) => o.status === 'CONFIRMED').length;
  const outOfStock = finals.filter((o) => o.status === 'REJECTED' && o.rejectionReason === 'out_of_stock').length;
  assert.deepEqual({ confirmed, outOfStock }, { confirmed: 10, outOfStock: 2 });
  const product = await api.product('SKU-SCALE');
  assert.deepEqual({ stock: product.stock, reserved: product.reserved, available: product.available }, { stock: 0, reserved: 0, available: 0 });

  // Both notification instances consume the same queue: still one email per customer.
  const mails = await eventually(async () => {
    const all = (await api.mail()).filter((m) => m.To.some((t) => t.Address.startsWith('scale-')));
    return all.length >= orders ? all : undefined;
  }, 30000, 100, 'one email per order');
  const perAddress = new Map<string, number>();
  for (const m of mails) for (const t of m.To) perAddress.set(t.Address, (perAddress.get(t.Address) ?? 0) + 1);
  assert.equal(perAddress.size, orders);
  assert.ok([...perAddress.values()].every((n) => n === 1), 'no customer emailed twice');
});
