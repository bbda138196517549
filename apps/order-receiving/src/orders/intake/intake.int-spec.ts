import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Client } from 'pg';
import { eventually } from '@orders/testing';
import { ACME, call, DEMO, newKey, orderBody, placeOrder, startTestApp, TestApp } from '../../../test/test-app';

let t: TestApp;
let base: string;

before(async () => {
  t = await startTestApp('recv_intake');
  base = t.base;
});

after(async () => {
  await t?.stop();
});

async function count(table: string, where = 'true', params: unknown[] = []): Promise<number> {
  const c = new Client({ connectionString: t.db.url, options: '-c search_path=receiving' });
  await c.connect();
  try {
    return Number((await c.query(`SELECT count(*) AS n FROM ${table} WHERE ${where}`, params)).rows[0].n);
  } finally {
    await c.end();
  }
}

test('an accepted order answers 202 with Location and links, and order.placed.v1 goes out with the order', async () => {
  const res = await placeOrder(base);
  assert.equal(res.status, 202);
  const id = res.body.id;
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(res.headers.get('location'), `/orders/${id}`);
  assert.equal(res.body.status, 'PENDING');
  assert.equal(res.body.links.self, `/orders/${id}`);
  assert.match(res.body.links.events, new RegExp(`^/orders/${id}/events\\?token=\\d+\\.[A-Za-z0-9_-]{43}$`));

  const msg = await t.bus.waitFor('order.placed.v1', (p) => p.orderId === id);
  assert.equal(msg.payload.tenantId, 'demo');
  assert.deepEqual({ ...msg.payload.customer }, { id: 'cust-1', email: 'ada@example.com', name: 'Ada Lovelace' });
  assert.deepEqual(msg.payload.items.map((i) => ({ ...i })), [{ sku: 'SKU-1', quantity: 2 }]);
  assert.equal(msg.payload.couponCode, 'SPRING10');
  assert.equal(msg.payload.shippingAddress.country, 'GB');
  assert.equal(msg.payload.payment.token, 'tok_ok');
  assert.equal(msg.correlationId, id);

  const order = await call(base, 'GET', `/orders/${id}`, { headers: DEMO });
  assert.equal(order.status, 200);
  assert.equal(order.body.status, 'PENDING');
  assert.equal(order.body.totals, null);
  assert.deepEqual((order.body.history as Array<{ status: string }>).map((h) => h.status), ['PENDING']);
});

test('same key and same body replays the first response; a different body is 422', async () => {
  const key = newKey();
  const first = await placeOrder(base, orderBody(), {}, key);
  // Same order with its keys in another order: still the same request.
  const { payment, ...rest } = orderBody();
  const reordered = { payment, ...rest };
  const again = await placeOrder(base, reordered, {}, key);
  assert.equal(again.status, 202);
  assert.equal(again.headers.get('location'), first.headers.get('location'));
  assert.deepEqual(again.body, first.body);
  const other = await placeOrder(base, orderBody({ quantity: 3 }), {}, key);
  assert.equal(other.status, 422);
  assert.match(String(other.body.message), /Idempotency-Key/);
  // The same key is the tenant's own: another tenant may use it for its own order.
  const acme = await placeOrder(base, orderBody(), ACME, key);
  assert.equal(acme.status, 202);
  assert.notEqual(acme.body.id, first.body.id);
  assert.equal(await count('orders', 'id = $1', [first.body.id]), 1);
});

test('100 concurrent identical requests create exactly one order and one message', async () => {
  const key = newKey();
  const body = orderBody({ sku: 'SKU-CONC', email: 'conc@example.com' });
  const all = await Promise.all(Array.from({ length: 100 }, () => placeOrder(base, body, {}, key)));
  assert.deepEqual([...new Set(all.map((r) => r.status))], [202]);
  const ids = new Set(all.map((r) => r.body.id));
  assert.equal(ids.size, 1);
  const [id] = [...ids];
  assert.equal(await count('orders', "customer->>'email' = 'conc@example.com'"), 1);
  await t.bus.waitFor('order.placed.v1', (p) => p.orderId === id);
  await t.settled(); // every outbox row published and on the bus: a duplicate would be counted below
  assert.equal(t.bus.messages('order.placed.v1', (p) => p.customer.email === 'conc@example.com').length, 1);
});

test('a burst of concurrent orders (grouped into shared statements) gives each key exactly one order and one message', async () => {
  const keys = Array.from({ length: 150 }, () => newKey());
  const requests = [...keys, ...keys.slice(0, 50)].map((key) => placeOrder(base, orderBody({ email: `burst-${keys.indexOf(key)}@example.com`}), {}, key));
  const all = await Promise.all(requests);
  assert.deepEqual([...new Set(all.map((r) => r.status))], [202]);
  const idByKey = new Map<string, string>();
  [...keys, ...keys.slice(0, 50)].forEach((key, i) => {
    const id = all[i].body.id;
    assert.equal(idByKey.get(key) ?? id, id, 'a repeated key replays its own order');
    idByKey.set(key, id);
  });
  assert.equal(new Set(idByKey.values()).size, 150);
  assert.equal(await count('orders', "customer->>'email' LIKE 'burst-%'"), 150);
  await eventually(() => t.bus.messages('order.placed.v1', (p) => p.customer.email.startsWith('burst-')).length >= 150, 10000, 50, '150 messages');
  await t.settled();
  assert.equal(t.bus.messages('order.placed.v1', (p) => p.customer.email.startsWith('burst-')).length, 150);
});

test('a key held by a Prefer: wait request still deciding is 409 for a second request', async () => {
  const key = newKey();
  const waiting = placeOrder(base, orderBody(), { prefer: 'wait=2' }, key);
  await eventually(async () => (await count('idempotency_keys', 'key = $1', [key])) === 1, 5000, 20, 'key stored');
  const second = await placeOrder(base, orderBody(), {}, key);
  assert.equal(second.status, 409);
  const first = await waiting;
  assert.equal(first.status, 202);
  const third = await placeOrder(base, orderBody(), {}, key);
  assert.equal(third.status, 202);
  assert.equal(third.body.id, first.body.id);
});

test('Idempotency-Key is required and must be 1-255 printable characters', async () => {
  const missing = await call(base, 'POST', '/orders', { body: orderBody(), headers: DEMO });
  assert.equal(missing.status, 400);
  assert.match(String(missing.body.message), /Idempotency-Key/);
  const long = await placeOrder(base, orderBody(), {}, 'k'.repeat(256));
  assert.equal(long.status, 400);
  assert.match(String(long.body.message), /Idempotency-Key/);
  assert.equal((await placeOrder(base, orderBody(), {}, 'k'.repeat(255))).status, 202);
});

test('missing or unknown API keys are 401', async () => {
  const none = await call(base, 'POST', '/orders', { body: orderBody(), headers: { 'idempotency-key': newKey() } });
  assert.equal(none.status, 401);
  assert.deepEqual(Object.keys(none.body).sort(), ['error', 'message', 'statusCode']);
  const bad = await call(base, 'GET', '/orders', { headers: { authorization: 'Bearer nope-nope' } });
  assert.equal(bad.status, 401);
  assert.equal((await call(base, 'GET', '/orders', { headers: { authorization: 'demo-key' } })).status, 401);
});

test('invalid bodies are 400 naming each bad field; prices and unknown fields are rejected', async () => {
  const body = orderBody();
  const res = await placeOrder(base, {
    ...body,
    customer: { id: '', email: 'not-an-email' },
    items: [{ sku: 'SKU-1', quantity: 0 }, { sku: 'bad sku!', quantity: 1001 }],
    shippingAddress: { ...body.shippingAddress, country: 'XX' },
  });
  assert.equal(res.status, 400);
  const fields = (res.body.details as Array<{ field: string }>).map((d) => d.field);
  for (const f of ['customer.id', 'customer.email', 'items.0.quantity', 'items.1.sku', 'items.1.quantity', 'shippingAddress.country']) {
    assert.ok(fields.includes(f), `${f} in ${fields.join(', ')}`);
  }
  const priced = await placeOrder(base, { ...body, items: [{ sku: 'SKU-1', quantity: 1, unitPriceCents: 1 }] });
  assert.equal(priced.status, 400);
  assert.match(JSON.stringify(priced.body.details), /unitPriceCents/);
  const extra = await placeOrder(base, { ...body, total: 1 });
  assert.equal(extra.status, 400);
  assert.match(String(extra.body.message), /total/);
  assert.equal((await placeOrder(base, { ...body, items: [] })).status, 400);
  const tooMany = await placeOrder(base, { ...body, items: Array.from({ length: 101 }, (_, i) => ({ sku: `S${i}`, quantity: 1 })) });
  assert.equal(tooMany.status, 400);
  for (const missing of ['customer', 'items', 'shippingAddress', 'payment'] as const) {
    const { [missing]: _gone, ...rest } = body;
    const r = await placeOrder(base, rest);
    assert.equal(r.status, 400, missing);
    assert.match(String(r.body.message), new RegExp(missing));
  }
  for (const weird of [null, [], 'order', 42]) assert.equal((await placeOrder(base, weird)).status, 400, JSON.stringify(weird));
});

test('malformed JSON is 400, a body over the limit 413, another content type 415', async () => {
  const headers = { ...DEMO, 'idempotency-key': newKey(), 'content-type': 'application/json' };
  const malformed = await call(base, 'POST', '/orders', { raw: '{"customer": ', headers });
  assert.equal(malformed.status, 400);
  assert.match(String(malformed.body.message), /JSON/);
  const big = await call(base, 'POST', '/orders', { raw: JSON.stringify({ ...orderBody(), pad: 'x'.repeat(70 * 1024) }), headers });
  assert.equal(big.status, 413);
  const text = await call(base, 'POST', '/orders', { raw: JSON.stringify(orderBody()), headers: { ...headers, 'content-type': 'text/plain' } });
  assert.equal(text.status, 415);
  const form = await call(base, 'POST', '/orders', { raw: 'a=1', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(form.status, 415);
  const hugeHeader = await call(base, 'GET', '/orders', { headers: { ...DEMO, 'x-junk': 'x'.repeat(20 * 1024) } });
  assert.ok([400, 431].includes(hugeHeader.status), String(hugeHeader.status));
});

test('expired idempotency keys are pruned, fresh ones kept', async () => {
  const old = newKey();
  const fresh = newKey();
  await placeOrder(base, orderBody(), {}, old);
  await placeOrder(base, orderBody(), {}, fresh);
  const c = new Client({ connectionString: t.db.url, options: '-c search_path=receiving' });
  await c.connect();
  await c.query("UPDATE idempotency_keys SET created_at = now() - interval '49 hours' WHERE key = $1", [old]);
  await c.end();
  const { IntakeService } = await import('./intake.service');
  const pruned = await t.app.get(IntakeService).pruneKeys();
  assert.ok(pruned >= 1);
  assert.equal(await count('idempotency_keys', 'key = $1', [old]), 0);
  assert.equal(await count('idempotency_keys', 'key = $1', [fresh]), 1);
});

test('the OpenAPI document describes POST /orders from the DTOs; the UI is served', async () => {
  const doc = await call<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> } }>(base, 'GET', '/openapi.json');
  assert.equal(doc.status, 200);
  const post = doc.body.paths['/orders'].post;
  for (const code of ['200', '202', '400', '401', '409', '413', '415', '422', '429']) assert.ok(post.responses[code], `documents ${code}`);
  assert.ok(doc.body.components.schemas.CreateOrderDto);
  const ui = await fetch(`${base}/docs`);
  assert.equal(ui.status, 200);
  assert.match(await ui.text(), /swagger/i);
});

test('random bodies and headers on POST /orders never produce a 5xx', async () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  const mutated = fc.record({
    customer: fc.oneof(fc.constant(orderBody().customer), json, fc.record({ id: fc.string(), email: fc.string(), name: fc.anything() })),
    items: fc.oneof(fc.constant(orderBody().items), json, fc.array(fc.record({ sku: fc.oneof(fc.string(), json), quantity: fc.oneof(fc.integer(), json) }), { maxLength: 3 })),
    shippingAddress: fc.oneof(fc.constant(orderBody().shippingAddress), json),
    payment: fc.oneof(fc.constant(orderBody().payment), json),
    couponCode: fc.oneof(fc.string(), json),
  }, { requiredKeys: [] });
  const body = fc.oneof(json.map((v) => JSON.stringify(v)), mutated.map((v) => JSON.stringify(v)), fc.string());
  const header = fc.string({ unit: 'binary-ascii', maxLength: 300 }).filter((s) => !/[\r\n\0]/.test(s));
  await fc.assert(
    fc.asyncProperty(body, fc.option(header), fc.option(header), fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', ''), async (raw, key, prefer, ctype) => {
      const headers: Record<string, string> = { authorization: 'Bearer demo-key' };
      if (key !== null) headers['idempotency-key'] = key;
      if (prefer !== null) headers.prefer = prefer.replace(/wait/gi, 'w');
      if (ctype) headers['content-type'] = ctype;
      let status: number;
      try {
        status = (await fetch(`${base}/orders`, { method: 'POST', headers, body: raw })).status;
      } catch {
        return true; // the client refused to send this header value: nothing reached the server
      }
      assert.ok(status < 500, `status ${status} for ${JSON.stringify({ raw, headers })}`);
      return true;
    }),
    { numRuns: 2000 },
  );
  // and a valid order still goes through
  assert.equal((await placeOrder(base, orderBody(), {}, newKey())).status, 202);
});

test('/metrics counts new and replayed orders and the orders per intake statement', async () => {
  const key = newKey();
  await placeOrder(base, orderBody(), {}, key);
  await placeOrder(base, orderBody(), {}, key);
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  assert.ok(value(/^orders_accepted_total\{result="created"\} (\d+)/m) >= 1);
  assert.ok(value(/^orders_accepted_total\{result="replayed"\} (\d+)/m) >= 1);
  assert.ok(value(/^intake_statement_orders_count (\d+)/m) >= 1);
});
