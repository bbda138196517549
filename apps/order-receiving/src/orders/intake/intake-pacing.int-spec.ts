import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACME, placeOrder, startTestApp, TestApp } from '../../../test/test-app';

/** Intake paces a heavy tenant (the bulk lane) while a light tenant is active, refusing nothing; a light tenant's order never waits for it. */
let t: TestApp;

before(async () => {
  t = await startTestApp('recv_pacing', { INTAKE_HEAVY_PER_SECOND: '10', INTAKE_HEAVY_MAX_DELAY_MS: '60000' });
});

after(async () => {
  await t?.stop();
});

const placedAt = (ids: string[]) =>
  ids.map((id) => Date.parse(t.bus.messages('order.placed.v1', (p) => p.orderId === id)[0]?.payload.placedAt ?? 'NaN')).sort((a, b) => a - b);

test("while a light tenant is active a heavy tenant's orders are stored at INTAKE_HEAVY_PER_SECOND, all accepted, and the light tenant's order goes first", async () => {
  // alone, a flood past BULK_AFTER is heavy but not paced
  const alone = await Promise.all(Array.from({ length: 60 }, () => placeOrder(t.base)));
  assert.deepEqual(new Set(alone.map((r) => r.status)), new Set([202]));

  assert.equal((await placeOrder(t.base, undefined, ACME)).status, 202); // the light tenant is active from now on
  const sentAt = Date.now();
  const paced = Promise.all(Array.from({ length: 10 }, () => placeOrder(t.base).then((r) => ({ ...r, at: Date.now() }))));
  const light = await placeOrder(t.base, undefined, ACME);
  const lightAt = Date.now();
  const heavy = await paced;

  assert.equal(light.status, 202);
  assert.deepEqual(new Set(heavy.map((r) => r.status)), new Set([202]), 'paced, never refused');
  const lastHeavy = Math.max(...heavy.map((r) => r.at));
  assert.ok(lightAt < lastHeavy, `the light order was answered after ${lightAt - sentAt} ms, the last heavy one after ${lastHeavy - sentAt} ms: the light one goes first`);
  const ids = heavy.map((r) => r.body.id);
  await t.bus.waitFor('order.placed.v1', (p) => p.orderId === ids[ids.length - 1]);
  for (const id of ids) await t.bus.waitFor('order.placed.v1', (p) => p.orderId === id && p.lane === 'bulk');
  const at = placedAt(ids);
  // ten at 10 a second, the first with the bucket's one token: at least 9 × 100 ms apart in all (slack for rounding)
  assert.ok(at[9] - at[0] >= 800, `the ten heavy orders were stored over ${at[9] - at[0]} ms; paced at 10 a second they take at least 900`);
});
