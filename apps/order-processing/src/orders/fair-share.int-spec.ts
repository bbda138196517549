import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Messaging } from '@orders/messaging';
import { eventually, statementsSent } from '@orders/testing';
import { handled, placeOrder, Rig, startRig, statusOf } from '../../test/harness';

/** A flooding tenant's cap shrinks to TENANT_SHARED_IN_FLIGHT while another tenant has orders in flight, and grows back when it is alone. */
let rig: Rig;

before(async () => {
  // the activity window off: only orders in flight make a tenant active, so the test needs no waiting on time
  rig = await startRig('share', {
    TENANT_MAX_IN_FLIGHT: '3', TENANT_SHARED_IN_FLIGHT: '1', TENANT_ACTIVE_WINDOW_MS: '0', PLACED_CONCURRENCY: '1', ADMISSION_SWEEP_MS: '200',
  });
});

after(async () => {
  await rig?.stop();
});

const started = (tenantId: string) => rig.bus.messages('inventory.reserve.v1', (p) => p.tenantId === tenantId).map((e) => e.payload.orderId);

/** Places `n` orders that stay in flight until the test lets them end; resolves once each placement is stored (waiting or started). */
async function placeHeld(tenantId: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const orderId = randomUUID();
    rig.inventory.reserve.set(orderId, 'hold'); // in flight until the test lets it end
    const { env } = await placeOrder(rig.bus, { orderId, tenantId });
    // stored before anything else happens to its tenant: an order ending meanwhile would not yet see it waiting
    await handled(rig, env, 'order-processing.placed');
    ids.push(orderId);
  }
  return ids;
}

const reject = (orderId: string, tenantId: string) =>
  rig.bus.publish('inventory.reservation-rejected.v1', { orderId, tenantId, reason: 'out_of_stock', skus: ['SKU-A'] });

test('while another tenant has an order in flight, a flooding tenant gets TENANT_SHARED_IN_FLIGHT at a time; alone again, TENANT_MAX_IN_FLIGHT', async () => {
  const flood = await placeHeld('flood', 6);
  await eventually(() => started('flood').length === 3, 10000, 20, 'alone: three of the flood in flight');

  const [quiet] = await placeHeld('quiet', 1);
  await eventually(() => started('quiet').length === 1, 10000, 20, "the quiet tenant's order starts at once");

  // the flood's three in flight end while the quiet tenant's order is in flight: only one of its waiting orders starts
  // (each finish starts the next waiting order itself, in its own transaction)
  const rejections = [];
  for (const id of started('flood')) rejections.push(await reject(id, 'flood'));
  for (const r of rejections) await handled(rig, r, 'order-processing.saga');
  // what those transactions published is out and has reached the test's bus (a commit comes before its publish)
  await rig.app.get(Messaging).flush();
  await rig.bus.sync();
  assert.equal(started('flood').length, 4, 'one more of the flood started beside the quiet tenant\'s order, not three');

  // the quiet tenant's order ends: alone again, the flood fills its cap (the reconciler asks for it)
  await reject(quiet, 'quiet');
  await statusOf(rig.bus, quiet, 'REJECTED');
  await eventually(() => started('flood').length === 6, 10000, 20, 'alone again: the rest of the flood starts');
});

/** The statements the service sends that name one of `words` (an order id, a tenant) while `fn` runs; a statement's first use on a connection (PREPARE) left out. */
async function statementsNaming(words: string[], fn: () => Promise<unknown>): Promise<string[]> {
  return (await statementsSent(fn)).map((s) => s.text).filter((text) => words.some((w) => text.includes(w)) && !text.startsWith('PREPARE '));
}

test('a placement costs two round trips (its arrival lock with the order stored, then its start with the COMMIT); an ending order starts the next waiting one with its room read in the same statement', async () => {
  const tenantId = `rt-${randomUUID()}`;
  // the flood's orders are still in flight: this tenant is shared, one order at a time
  const first = randomUUID();
  rig.inventory.reserve.set(first, 'hold');
  const placing = await statementsNaming([first], async () => {
    await placeOrder(rig.bus, { orderId: first, tenantId });
    await eventually(() => started(tenantId).length === 1, 10000, 20, 'the first order starts');
  });
  assert.equal(placing.length, 2, `statements sent for the placement:\n${placing.join('\n---\n')}`);

  const [second] = await placeHeld(tenantId, 1);
  await rig.app.get(Messaging).flush();
  assert.deepEqual(started(tenantId), [first], 'the second waits');
  const ending = await statementsNaming([first, second, tenantId], async () => {
    await handled(rig, await reject(first, tenantId), 'order-processing.saga');
    await eventually(() => started(tenantId).length === 2, 10000, 20, 'the second starts');
  });
  // the lock; the outcome's writes with the room and the oldest waiting order; the next order's start with the COMMIT
  assert.equal(ending.length, 3, `statements sent for the ending order:\n${ending.join('\n---\n')}`);
  await handled(rig, await reject(second, tenantId), 'order-processing.saga');
  await statusOf(rig.bus, second, 'REJECTED');
});
