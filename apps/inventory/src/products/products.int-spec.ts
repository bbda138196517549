import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, TestApp } from '../../test/test-app';

let t: TestApp;
before(async () => {
  t = await TestApp.start();
});
after(async () => {
  await t?.stop();
});

const widget = { name: 'Widget', priceCents: 1250, currency: 'EUR', stock: 10 };

test('PUT creates (201) then replaces (200); GET shows stock, reserved and available', async () => {
  const created = await t.putProduct('W-1', widget);
  assert.equal(created.status, 201);
  assert.deepEqual(created.body, { sku: 'W-1', ...widget, reserved: 0, available: 10 });

  const replaced = await t.putProduct('W-1', { ...widget, name: 'Widget v2', priceCents: 1300, stock: 7 });
  assert.equal(replaced.status, 200);

  const res = await fetch(`${t.base}/products/W-1`, { headers: ADMIN });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { sku: 'W-1', name: 'Widget v2', priceCents: 1300, currency: 'EUR', stock: 7, reserved: 0, available: 7 });
});

test('unknown product is 404 in the platform error shape', async () => {
  const res = await fetch(`${t.base}/products/NOPE`, { headers: ADMIN });
  assert.equal(res.status, 404);
  const body = (await res.json()) as { statusCode: number; error: string; message: string };
  assert.equal(body.statusCode, 404);
  assert.equal(body.error, 'Not Found');
  assert.match(body.message, /NOPE/);
});

test('every admin call needs the admin bearer token (401 otherwise)', async () => {
  const variants: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token' }, { authorization: 'test-admin-token' }];
  for (const headers of variants) {
    assert.equal((await t.putProduct('W-AUTH', widget, headers)).status, 401);
    assert.equal((await fetch(`${t.base}/products/W-1`, { headers })).status, 401);
    assert.equal((await fetch(`${t.base}/products`, { headers })).status, 401);
  }
  assert.equal((await fetch(`${t.base}/products/W-AUTH`, { headers: ADMIN })).status, 404, 'nothing was created without the token');
});

test('bad bodies are 400 naming each bad field; unknown fields are rejected', async () => {
  const bad = await t.putProduct('W-BAD', { name: '', priceCents: 1.5, currency: 'eur', stock: -1 });
  assert.equal(bad.status, 400);
  const fields = (bad.body.details as Array<{ field: string }>).map((d) => d.field).sort();
  assert.deepEqual(fields, ['currency', 'name', 'priceCents', 'stock']);

  const tooMuch = await t.putProduct('W-BAD', { ...widget, stock: 1_000_000_001 });
  assert.equal(tooMuch.status, 400);
  assert.match(String(tooMuch.body.message), /stock/);

  const extra = await t.putProduct('W-BAD', { ...widget, reserved: 3 });
  assert.equal(extra.status, 400);
  assert.match(String(extra.body.message), /reserved/);

  const missing = await t.putProduct('W-BAD', { name: 'x' });
  assert.equal(missing.status, 400);
  assert.deepEqual((missing.body.details as Array<{ field: string }>).map((d) => d.field).sort(), ['currency', 'priceCents', 'stock']);

  const badSku = await t.putProduct('-bad', widget);
  assert.equal(badSku.status, 400);
  assert.match(String(badSku.body.message), /sku/);

  const notJson = await fetch(`${t.base}/products/W-BAD`, { method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/json' }, body: '{"name":' });
  assert.equal(notJson.status, 400);

  assert.equal((await fetch(`${t.base}/products/W-BAD`, { headers: ADMIN })).status, 404, 'no bad request created anything');
});

test('listing is ordered by sku and pages with a cursor', async () => {
  for (const sku of ['L-c', 'L-a', 'L-B', 'L-b']) assert.equal((await t.putProduct(sku, widget)).status, 201);
  const all = await fetch(`${t.base}/products`, { headers: ADMIN });
  assert.equal(all.status, 200);
  const skus = ((await all.json()) as { items: Array<{ sku: string }> }).items.map((p) => p.sku);
  assert.deepEqual(skus, [...skus].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), 'byte order of sku');
  assert.ok(['L-B', 'L-a', 'L-b', 'L-c'].every((s) => skus.includes(s)));

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const qs: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
    const page = (await (await fetch(`${t.base}/products${qs}`, { headers: ADMIN })).json()) as { items: Array<{ sku: string; available: number }>; nextCursor: string | null };
    assert.ok(page.items.length <= 2);
    seen.push(...page.items.map((p) => p.sku));
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 20);
  assert.deepEqual(seen, skus);

  const badLimit = await fetch(`${t.base}/products?limit=0`, { headers: ADMIN });
  assert.equal(badLimit.status, 400);
  assert.match(((await badLimit.json()) as { message: string }).message, /limit/);
});
