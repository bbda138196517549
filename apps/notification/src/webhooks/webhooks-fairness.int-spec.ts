import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, TestBus } from '@orders/testing';
import { Client } from 'pg';
import { deliveriesOf, Receiver, registerWebhook, startApp, statusEvent, TestApp } from '../../test/test-kit';

/**
 * One tenant's hanging endpoints against everyone else's deliveries, with the
 * default slots (16 in flight, 2 per endpoint) and a timeout far longer than
 * the test: no slot of the hanging tenant frees while it runs.
 */
let t: TestApp;
let bus: TestBus;
let pg: Client;
const rx = new Receiver();
const ENDPOINTS = 10;
const ORDERS = 200;

before(async () => {
  await rx.start();
  t = await startApp({ WEBHOOK_TIMEOUT_MS: '60000' });
  bus = await TestBus.connect(t.cfg.MQ_PREFIX);
  pg = new Client({ connectionString: t.db.url });
  await pg.connect();
});

after(async () => {
  await pg?.end();
  await bus?.cleanup();
  await rx.stop(); // drops the hanging requests, so the app's shutdown does not wait out their timeout
  await t?.close();
});

const stalledA = () => rx.requests.filter((r) => r.path.startsWith('/a/'));

test('a tenant whose endpoints all hang holds only its share of the slots: another tenant is delivered within seconds', async () => {
  for (let i = 0; i < ENDPOINTS; i++) await registerWebhook(t, 't1', rx.url(`/a/${i}`, () => 'stall'));
  const b = await registerWebhook(t, 't2', rx.url('/b'));
  for (let i = 0; i < ORDERS; i++) await bus.publish('order.status-changed.v1', statusEvent('t1'));
  await eventually(async () => {
    const r = await pg.query(`SELECT count(*)::int AS n FROM notification.webhook_deliveries WHERE tenant_id = 't1'`);
    return r.rows[0].n === ENDPOINTS * ORDERS;
  }, 30000, 50, `all ${ENDPOINTS * ORDERS} deliveries of the hanging tenant written`);
  await eventually(() => stalledA().length >= t.cfg.WEBHOOK_PER_TENANT_CONCURRENCY, 10000, 20, 'the hanging tenant\'s endpoints being called');

  const published = Date.now();
  const e = await bus.publish('order.status-changed.v1', statusEvent('t2'));
  await eventually(() => rx.to('/b').length === 1, 5000, 20, 'the other tenant\'s webhook');
  const [d] = await eventually(async () => {
    const ds = await deliveriesOf(t, 't2', b.id);
    return ds[0]?.state === 'delivered' ? ds : undefined;
  }, 5000, 20, 'delivered in its log');
  assert.equal(d.orderId, e.payload.orderId);
  assert.ok(Date.now() - published < 5000, `the other tenant waited ${Date.now() - published} ms`);

  // the hanging tenant still hangs: it holds its share of the slots, spread over its endpoints, and no more
  const held = stalledA();
  assert.equal(held.length, t.cfg.WEBHOOK_PER_TENANT_CONCURRENCY, 'requests of the hanging tenant in flight');
  assert.equal(new Set(held.map((r) => r.path)).size, Math.min(ENDPOINTS, held.length), 'one per endpoint before a second to any');
  const attempts = await pg.query(`SELECT count(*)::int AS n FROM notification.webhook_attempts a JOIN notification.webhook_deliveries d ON d.id = a.delivery_id WHERE d.tenant_id = 't1'`);
  assert.equal(attempts.rows[0].n, 0, 'no attempt of the hanging tenant has finished');
});
