import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { placeOrder, Rig, startRig, statusOf } from '../../test/harness';

/**
 * STATUS_COALESCE_MS: an order that ends soon after it started sends one
 * status event, its final one, carrying the PROCESSING it passed through;
 * one that takes longer sends PROCESSING as before, once the delay passed.
 */
let rig: Rig;

before(async () => {
  rig = await startRig('coalesce', { STATUS_COALESCE_MS: '400' });
});

after(async () => {
  await rig?.stop();
});

const events = (orderId: string) => rig.bus.messages('order.status-changed.v1', (p) => p.orderId === orderId);

// Guards: a PROCESSING event sent for every order (a message more per order), or one lost (no entry anywhere).
test('an order confirmed within the delay sends only its final event, which carries PENDING and PROCESSING; one still processing sends PROCESSING late', async () => {
  const quick = await placeOrder(rig.bus);
  const slow = randomUUID();
  rig.inventory.reserve.set(slow, 'hold'); // inventory never answers it
  const started = Date.now();
  await placeOrder(rig.bus, { orderId: slow });
  const confirmed = await statusOf(rig.bus, quick.orderId, 'CONFIRMED');
  assert.deepEqual(
    confirmed.payload.earlier?.map((e) => [e.status, e.sequence]),
    [['PENDING', 1], ['PROCESSING', 2]],
    'the final event carries the statuses whose events were taken back',
  );
  assert.equal(confirmed.payload.sequence, 3);
  const processing = await statusOf(rig.bus, slow, 'PROCESSING');
  assert.ok(Date.now() - started >= 380, 'the slow order\'s PROCESSING left after the delay');
  assert.equal(processing.payload.sequence, 2);
  await rig.bus.sync();
  // the quick order's taken-back events were due before the slow one's: they would have arrived by now
  assert.deepEqual(events(quick.orderId).map((e) => e.payload.status), ['CONFIRMED'], 'one status event for the quick order');
});

test('an order rejected within the delay carries them too', async () => {
  const orderId = randomUUID();
  rig.inventory.reserve.set(orderId, { reject: 'out_of_stock' });
  await placeOrder(rig.bus, { orderId });
  const rejected = await statusOf(rig.bus, orderId, 'REJECTED');
  assert.deepEqual(rejected.payload.earlier?.map((e) => e.status), ['PENDING', 'PROCESSING']);
});
