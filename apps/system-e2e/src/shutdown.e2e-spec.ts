import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@orders/testing';
import { Api, orderBody, ServiceName, System } from './system';

/**
 * Graceful shutdown under load: each service in turn gets SIGTERM while
 * orders flow and is started again. A service that stops takes no new work,
 * finishes or returns what it holds (messages in flight, the outbox batch,
 * open streams), so nothing is lost or done twice: every order confirmed
 * with an exact history, stock moved once, one authorization and one email each.
 */
let sys: System;
let api: Api;
const ORDERS = 60;
const STOPPED: ServiceName[] = ['order-processing', 'inventory', 'notification', 'order-receiving'];

before(async () => {
  sys = await System.start({ env: { RETRY_DELAYS_MS: '200,500,1000', LOG_LEVEL: 'warn' } });
  api = new Api(sys);
  await api.putProduct('SKU-S', { name: 'Sigma', priceCents: 700, currency: 'EUR', stock: 1000 });
});

after(async () => {
  await sys?.stop();
});

test('SIGTERM of each service under load loses nothing and doubles nothing', async () => {
  const ids: string[] = [];
  const place = async (i: number) => {
    for (;;) {
      // order-receiving itself may be restarting: retry with the same Idempotency-Key, as a storefront would
      const r = await api.placeOrder(orderBody({ sku: 'SKU-S', quantity: 1, email: `term${i}@example.com` }), `term-${i}`).catch(() => undefined);
      if (r?.status === 202) {
        if (!ids.includes(r.body.id)) ids.push(r.body.id);
        return;
      }
      await new Promise((res) => setTimeout(res, 100)); // a storefront's pause between retries: pacing, not a wait for a state
    }
  };
  let next = 0;
  for (let i = 0; i < ORDERS; i += 5) {
    const batch = Promise.all([0, 1, 2, 3, 4].map((k) => place(i + k)));
    if (i > 0 && i % 10 === 0 && next < STOPPED.length) {
      const n = STOPPED[next++];
      await sys.kill(n, 'SIGTERM');
      await sys.launch(n);
      await sys.waitReady(n);
    }
    await batch;
  }
  assert.equal(next, STOPPED.length, 'every service was stopped once');
  assert.equal(ids.length, ORDERS);

  const finals = await eventually(async () => {
    const orders = await Promise.all(ids.map((id) => api.order(id)));
    return orders.every((o) => o.status === 'CONFIRMED') ? orders : undefined;
  }, 60000, 500, 'every order confirmed');
  for (const o of finals) assert.deepEqual(o.history.map((h) => h.status), ['PENDING', 'PROCESSING', 'CONFIRMED'], `history of ${String(o.id)}`);

  const product = await eventually(async () => {
    const p = await api.product('SKU-S');
    return p.reserved === 0 ? p : undefined;
  }, 10000, 200, 'no stock left reserved');
  assert.equal(product.stock, 1000 - ORDERS, 'stock moved exactly once per order');

  // the capture is a job run after the commit that confirmed the order: one a stopping order-processing had not run yet
  // is released at shutdown for the next sweep (PAYMENT_SWEEP_MS), well within this wait, not left until its 30 s lease passes
  const authorizations = () =>
    Promise.all(ids.map(async (id) => {
      const res = await fetch(`${sys.url('payment-gateway-sim')}/authorizations?orderId=${id}`);
      return { id, items: ((await res.json()) as { items: Array<{ status: string }> }).items };
    }));
  const settled = await eventually(async () => {
    const auths = await authorizations();
    return auths.every((a) => a.items.length === 1 && a.items[0].status === 'captured') ? auths : undefined;
  }, 15000, 250, 'one captured authorization per order').catch(async (e: Error) => {
    const off = (await authorizations()).filter((a) => !(a.items.length === 1 && a.items[0].status === 'captured'));
    throw new Error(`${e.message}; not so: ${off.map((a) => `${a.id} [${a.items.map((i) => i.status).join(', ')}]`).join('; ')}`);
  });
  assert.equal(settled.length, ORDERS);

  const mail = await eventually(async () => {
    const m = await api.mail();
    return m.filter((x) => x.To[0]?.Address.startsWith('term')).length >= ORDERS ? m : undefined;
  }, 30000, 500, 'every email');
  // A doubled email would come from a copy of a status event still queued for notification: a marker order placed now
  // has its events queued behind any such copy, so once its email is out, every copy queued before it has been handled.
  const marker = await api.placeOrder(orderBody({ sku: 'SKU-S', quantity: 1, email: 'marker@example.com' }), 'term-marker');
  assert.equal(marker.status, 202);
  await eventually(async () => (await api.mail()).some((m) => m.To[0]?.Address === 'marker@example.com'), 30000, 200, "the marker order's email");
  const perOrder = new Map<string, number>();
  for (const m of (await api.mail()).filter((x) => x.To[0]?.Address.startsWith('term'))) perOrder.set(m.To[0].Address, (perOrder.get(m.To[0].Address) ?? 0) + 1);
  assert.equal(mail.length >= ORDERS, true);
  assert.equal(perOrder.size, ORDERS);
  assert.ok([...perOrder.values()].every((n) => n === 1), 'exactly one email per order');
});
