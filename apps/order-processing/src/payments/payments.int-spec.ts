import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, sleep } from '@orders/testing';
import { placeOrder, putPromotion, Rig, startRig, statusOf } from '../../test/harness';

/** The payment client against the real simulator: transient failures, timeouts, and an outage that outlasts the wait budget. */
let rig: Rig;

before(async () => {
  rig = await startRig('pay', {
    RETRY_DELAYS_MS: '100,300',
    PAYMENT_TIMEOUT_MS: '250',
    PAYMENT_RETRIES: '3',
    PAYMENT_BACKOFF_BASE_MS: '50',
    PAYMENT_BACKOFF_MAX_MS: '200',
    BREAKER_VOLUME_THRESHOLD: '1000',
    PAYMENT_WAIT_DELAYS_MS: '200,400',
    PAYMENT_MAX_WAIT_MS: '2000',
  });
  assert.equal((await putPromotion(rig.base, 'PAY5', { type: 'percent', value: 5 })).status, 201);
});

after(async () => {
  await rig?.sim.control({ outage: false, latencyMs: 0, errorRate: 0 }).catch(() => undefined);
  await rig?.stop();
});

/** Holds the order before payment until the gateway is set up; `release` lets it through and resolves once its first authorize call reached the gateway. */
async function orderAtPayment(): Promise<{ orderId: string; release: () => Promise<void> }> {
  const orderId = randomUUID();
  rig.inventory.reserve.set(orderId, 'hold');
  const { env } = await placeOrder(rig.bus, { orderId, couponCode: 'PAY5' });
  await rig.bus.waitFor('inventory.reserve.v1', (p) => p.orderId === orderId);
  const authorizeCalls = () => rig.sim.arrived.filter((r) => r.method === 'POST' && r.path === '/authorizations').length;
  return {
    orderId,
    release: async () => {
      const before = authorizeCalls();
      await rig.inventory.reserved(orderId, 'demo', env.payload.items);
      await eventually(() => authorizeCalls() > before, 10000, 5, 'the authorize call');
    },
  };
}

test('a 503 from the gateway is retried with the same idempotency key: one authorization, order confirmed', async () => {
  const { orderId, release } = await orderAtPayment();
  await rig.sim.control({ outage: true });
  await release();
  await sleep(150);
  await rig.sim.control({ outage: false });
  await statusOf(rig.bus, orderId, 'CONFIRMED');
  const auths = await rig.sim.authorizations(orderId);
  assert.equal(auths.length, 1);
  assert.equal(auths[0].amountCents, 2375);
});

test('a gateway slower than the timeout is aborted and retried; the late first answer does not make a second authorization', async () => {
  const { orderId, release } = await orderAtPayment();
  await rig.sim.control({ latencyMs: 400 });
  await release();
  await sleep(500);
  await rig.sim.control({ latencyMs: 0 });
  await statusOf(rig.bus, orderId, 'CONFIRMED');
  assert.equal((await rig.sim.authorizations(orderId)).length, 1);
});

test('an outage longer than the retry tiers: the order waits (not FAILED) and completes once the gateway is back', async () => {
  const { orderId, release } = await orderAtPayment();
  await rig.sim.control({ outage: true });
  await release();
  await sleep(1200); // several deferrals: more than RETRY_DELAYS_MS would allow attempts
  assert.equal(rig.bus.messages('order.status-changed.v1', (p) => p.orderId === orderId && p.status !== 'PENDING' && p.status !== 'PROCESSING').length, 0, 'still waiting');
  await rig.sim.control({ outage: false });
  await statusOf(rig.bus, orderId, 'CONFIRMED');
  assert.equal((await rig.sim.authorizations(orderId)).length, 1);
});

test('an outage that outlasts PAYMENT_MAX_WAIT_MS: FAILED payment_unavailable, stock released, coupon given back', async () => {
  const before = await (await fetch(`${rig.base}/promotions/PAY5`, { headers: { authorization: 'Bearer dev-admin-token' } })).json() as { redemptions: number };
  const { orderId, release } = await orderAtPayment();
  await rig.sim.control({ outage: true });
  await release();
  const started = Date.now();
  const failed = await statusOf(rig.bus, orderId, 'FAILED', 15000);
  await rig.sim.control({ outage: false });
  assert.ok(Date.now() - started >= 1800, `waited ${Date.now() - started} ms of the 2000 ms budget before failing`);
  assert.equal(failed.payload.reason, 'payment_unavailable');
  await rig.bus.waitFor('inventory.release.v1', (p) => p.orderId === orderId);
  assert.equal(rig.bus.messages('inventory.commit.v1', (p) => p.orderId === orderId).length, 0);
  const afterwards = await eventually(async () => {
    const p = (await (await fetch(`${rig.base}/promotions/PAY5`, { headers: { authorization: 'Bearer dev-admin-token' } })).json()) as { redemptions: number };
    return p.redemptions === before.redemptions ? p : undefined;
  }, 5000, 50, 'coupon returned');
  assert.equal(afterwards.redemptions, before.redemptions);
  assert.equal(await rig.bus.queueDepth(`${rig.cfg.MQ_PREFIX}.order-processing.saga.dlq`), 0, 'handled, not dead-lettered');
});
