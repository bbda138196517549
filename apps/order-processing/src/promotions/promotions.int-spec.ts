import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@orders/testing';
import { ADMIN, placeOrder, putPromotion, Rig, startRig, statusOf } from '../../test/harness';

/** The promotions admin API and the redemption cap, against the real database, broker and gateway simulator. */
let rig: Rig;

before(async () => {
  rig = await startRig('promo', { SAGA_CONCURRENCY: '16', TENANT_MAX_IN_FLIGHT: '1000' });
});

after(async () => {
  await rig?.stop();
});

const getPromotion = async (code: string) => {
  const res = await fetch(`${rig.base}/promotions/${code}`, { headers: { authorization: ADMIN.authorization } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

test('PUT creates (201), PUT again replaces (200), GET shows the terms and the redemptions', async () => {
  const created = await putPromotion(rig.base, 'Spring_25', { type: 'percent', value: 25, minSubtotalCents: 1000, startsAt: '2026-01-01T00:00:00Z', endsAt: '2030-01-01T00:00:00Z', maxRedemptions: 100 });
  assert.equal(created.status, 201);
  assert.deepEqual((await created.json() as Record<string, unknown>).redemptions, 0);
  const replaced = await putPromotion(rig.base, 'Spring_25', { type: 'fixed', value: 300, currency: 'EUR' });
  assert.equal(replaced.status, 200);
  const got = await getPromotion('Spring_25');
  assert.equal(got.status, 200);
  assert.equal(got.body.code, 'Spring_25');
  assert.equal(got.body.type, 'fixed');
  assert.equal(got.body.value, 300);
  assert.equal(got.body.currency, 'EUR');
  assert.equal(got.body.maxRedemptions, null);
  assert.equal(got.body.minSubtotalCents, null);
  assert.equal(got.body.redemptions, 0);
});

test('admin calls without the right bearer token are 401', async () => {
  const body = JSON.stringify({ type: 'percent', value: 5 });
  const attempts: Array<Record<string, string>> = [{ 'content-type': 'application/json' }, { 'content-type': 'application/json', authorization: 'Bearer wrong-token' }, { 'content-type': 'application/json', authorization: 'dev-admin-token' }];
  for (const headers of attempts) {
    const res = await fetch(`${rig.base}/promotions/NOPE`, { method: 'PUT', headers, body });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { statusCode: number }).statusCode, 401);
  }
  assert.equal((await fetch(`${rig.base}/promotions/NOPE`)).status, 401);
  assert.equal((await getPromotion('NOPE')).status, 404);
});

test('bad promotions are 400 naming the field', async () => {
  const cases: Array<[string, object, string]> = [
    ['P1', { type: 'percent', value: 101 }, 'value'],
    ['P1', { type: 'percent', value: 0 }, 'value'],
    ['P1', { type: 'percent', value: 1.5 }, 'value'],
    ['P1', { type: 'fixed', value: 500 }, 'currency'],
    ['P1', { type: 'fixed', value: 500, currency: 'eur' }, 'currency'],
    ['P1', { type: 'bogo', value: 5 }, 'type'],
    ['P1', { type: 'percent', value: 5, startsAt: 'tomorrow' }, 'startsAt'],
    ['P1', { type: 'percent', value: 5, startsAt: '2026-02-01T00:00:00Z', endsAt: '2026-01-01T00:00:00Z' }, 'endsAt'],
    ['P1', { type: 'percent', value: 5, maxRedemptions: -1 }, 'maxRedemptions'],
    ['P1', { type: 'percent', value: 5, extra: true }, 'extra'],
    ['bad%20code', { type: 'percent', value: 5 }, 'code'],
    ['x'.repeat(65), { type: 'percent', value: 5 }, 'code'],
  ];
  for (const [code, body, field] of cases) {
    const res = await putPromotion(rig.base, code, body);
    assert.equal(res.status, 400, `${code} ${JSON.stringify(body)}`);
    const err = (await res.json()) as { details: Array<{ field: string }> };
    assert.ok(err.details.some((d) => d.field === field), `${JSON.stringify(body)} → ${JSON.stringify(err.details)}`);
  }
  const badJson = await fetch(`${rig.base}/promotions/P1`, { method: 'PUT', headers: ADMIN, body: '{"type":' });
  assert.equal(badJson.status, 400);
  assert.equal((await getPromotion('P1')).status, 404);
});

test('the redemption cap holds under concurrency: 200 orders against a cap of 50 → exactly 50 redeemed', async () => {
  const ORDERS = 200;
  const CAP = 50;
  assert.equal((await putPromotion(rig.base, 'CAP50', { type: 'percent', value: 10, maxRedemptions: CAP })).status, 201);
  const ids = (await Promise.all(Array.from({ length: ORDERS }, () => placeOrder(rig.bus, { couponCode: 'CAP50' })))).map((o) => o.orderId);
  const started = Date.now();
  const wanted = new Set(ids);
  const outcomes = await eventually(() => {
    const final = new Map(rig.bus.messages('order.status-changed.v1', (p) => wanted.has(p.orderId) && (p.status === 'CONFIRMED' || p.status === 'REJECTED' || p.status === 'FAILED' || p.status === 'CANCELLED')).map((e) => [e.payload.orderId, e]));
    return final.size === ORDERS ? [...final.values()] : undefined;
  }, 90000, 100, `${ORDERS} final orders`);
  const confirmed = outcomes.filter((e) => e.payload.status === 'CONFIRMED');
  const rejected = outcomes.filter((e) => e.payload.status === 'REJECTED');
  assert.equal(confirmed.length, CAP);
  assert.equal(rejected.length, ORDERS - CAP);
  assert.ok(rejected.every((e) => e.payload.reason === 'invalid_coupon'));
  assert.ok(confirmed.every((e) => e.payload.totals?.discountCents === 250));
  assert.equal((await getPromotion('CAP50')).body.redemptions, CAP);
  process.stdout.write(`# ${ORDERS} orders against a cap of ${CAP}: final in ${Date.now() - started} ms\n`);
});

test('a declined order gives its coupon back, so the next order can use it', async () => {
  await putPromotion(rig.base, 'ONCE', { type: 'fixed', value: 100, currency: 'EUR', maxRedemptions: 1 });
  const declined = await placeOrder(rig.bus, { couponCode: 'ONCE', token: 'tok_decline' });
  assert.equal((await statusOf(rig.bus, declined.orderId, 'REJECTED')).payload.reason, 'payment_declined');
  assert.equal((await getPromotion('ONCE')).body.redemptions, 0);
  const next = await placeOrder(rig.bus, { couponCode: 'ONCE' });
  assert.equal((await statusOf(rig.bus, next.orderId, 'CONFIRMED')).payload.totals?.discountCents, 100);
  assert.equal((await getPromotion('ONCE')).body.redemptions, 1);
  const third = await placeOrder(rig.bus, { couponCode: 'ONCE' });
  assert.equal((await statusOf(rig.bus, third.orderId, 'REJECTED')).payload.reason, 'invalid_coupon');
});
