import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { placeOrder, Rig, startRig, statusOf } from '../../test/harness';

/** What an operator reads on order-processing's /metrics about orders that wait: stuck ones, per-tenant waiting, time to final. */
let rig: Rig;

before(async () => {
  rig = await startRig('ordmetrics', { TENANT_MAX_IN_FLIGHT: '1', PLACED_CONCURRENCY: '1', STUCK_AFTER_MS: '1000' });
});

after(async () => {
  await rig?.stop();
});

async function scrape(metric: string, labels = ''): Promise<number | undefined> {
  const text = await (await fetch(`${rig.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${metric}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('a tenant\'s waiting orders and orders stuck past STUCK_AFTER_MS show on /metrics, and clear when the orders end', async () => {
  assert.equal(await scrape('orders_stuck'), 0);
  assert.equal(await scrape('orders_queue_consumers', '{queue="order-processing.placed"}'), 1);
  // Tenant "flood": inventory never answers, so one order is in flight and the other two wait.
  const flood: string[] = [];
  for (let i = 0; i < 3; i++) {
    const orderId = randomUUID();
    rig.inventory.reserve.set(orderId, 'hold');
    flood.push(orderId);
    await placeOrder(rig.bus, { orderId, tenantId: 'flood' });
  }
  await eventually(async () => (await scrape('orders_tenant_waiting', '{tenant="flood"}')) === 2, 10000, 100, 'two flood orders waiting');
  // Another tenant's order completes and is timed.
  const small = await placeOrder(rig.bus, { tenantId: 'small' });
  await statusOf(rig.bus, small.orderId, 'CONFIRMED');
  await eventually(async () => (await scrape('orders_accept_to_final_seconds_count', '{status="CONFIRMED"}')) === 1, 5000, 50, 'time to CONFIRMED recorded');
  assert.equal(await scrape('orders_tenant_waiting', '{tenant="small"}'), undefined, 'a tenant with nothing waiting never had a series');

  // After STUCK_AFTER_MS all three flood orders are still not final.
  await eventually(async () => (await scrape('orders_stuck')) === 3, 10000, 200, 'three stuck orders');

  for (const orderId of flood) {
    await rig.bus.publish('order.cancel-requested.v1', { orderId, tenantId: 'flood', requestedAt: new Date().toISOString() });
  }
  for (const orderId of flood) await statusOf(rig.bus, orderId, 'CANCELLED');
  await eventually(async () => (await scrape('orders_stuck')) === 0, 5000, 50, 'nothing stuck');
  assert.equal(await scrape('orders_tenant_waiting', '{tenant="flood"}'), 0, 'the flood tenant waits no more');
  assert.equal(await scrape('orders_accept_to_final_seconds_count', '{status="CANCELLED"}'), 3);
  assert.ok((await scrape('orders_accept_to_final_seconds_sum', '{status="CANCELLED"}'))! >= 3, 'each waited over STUCK_AFTER_MS');
});
