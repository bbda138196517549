import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { placeOrder, Rig, startRig, statusOf } from '../../test/harness';

/**
 * Captures and voids the gateway refuses for good (4xx) end where an operator
 * sees them: on the order's history (its status unchanged) and in the
 * orders_payment_unsettled gauge. Staged by acting on the order's
 * authorization at the gateway before the saga does (the gateway answers a
 * repeated authorize with the authorization it made first).
 */
let rig: Rig;

before(async () => {
  rig = await startRig('settle');
});

after(async () => {
  await rig?.stop();
});

const history = (orderId: string) => rig.bus.messages('order.status-changed.v1', (p) => p.orderId === orderId).map((e) => [e.payload.status, e.payload.reason ?? null]);

async function unsettled(action: string): Promise<number | undefined> {
  const text = await (await fetch(`${rig.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`orders_payment_unsettled{action="${action}"} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Authorizes at the gateway under the order's key, then captures or voids that authorization there, as if someone else had. */
async function settleFirst(orderId: string, amountCents: number, then: 'capture' | 'void'): Promise<void> {
  const res = await fetch(`${rig.sim.url}/authorizations`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `${orderId}:authorize` },
    body: JSON.stringify({ orderId, amountCents, currency: 'EUR', token: 'tok_ok' }),
  });
  const { id } = (await res.json()) as { id: string };
  const done = await fetch(`${rig.sim.url}/authorizations/${id}/${then}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `other:${then}:${orderId}` }, body: JSON.stringify({ orderId }),
  });
  assert.ok(done.ok, `${then} at the gateway: ${done.status}`);
}

test('a capture the gateway refuses: the order stays CONFIRMED, its history records capture_refused, and the gauge counts it', async () => {
  const orderId = randomUUID();
  rig.inventory.reserve.set(orderId, 'hold');
  const { env } = await placeOrder(rig.bus, { orderId });
  await rig.bus.waitFor('inventory.reserve.v1', (p) => p.orderId === orderId);
  assert.equal(await unsettled('capture'), 0);
  await settleFirst(orderId, 2500, 'void'); // a voided authorization cannot be captured: 409
  await rig.inventory.reserved(orderId, 'demo', env.payload.items);
  await statusOf(rig.bus, orderId, 'CONFIRMED');
  await eventually(() => history(orderId).some(([, r]) => r === 'capture_refused'), 10000, 50, 'the refusal on the order');
  assert.deepEqual(history(orderId), [['PENDING', null], ['PROCESSING', null], ['CONFIRMED', null], ['CONFIRMED', 'capture_refused']]);
  assert.equal(await unsettled('capture'), 1);
});

test('a void the gateway refuses: the order keeps its final status, its history records void_refused, and the gauge counts it', async () => {
  const orderId = randomUUID();
  rig.inventory.reserve.set(orderId, { expiresInMs: 10_000 }); // too close to its expiry to confirm: the order fails and is voided
  await settleFirst(orderId, 2500, 'capture'); // a captured authorization cannot be voided: 409
  await placeOrder(rig.bus, { orderId });
  assert.equal((await statusOf(rig.bus, orderId, 'FAILED')).payload.reason, 'reservation_expired');
  await eventually(() => history(orderId).some(([, r]) => r === 'void_refused'), 10000, 50, 'the refusal on the order');
  assert.deepEqual(history(orderId).at(-1), ['FAILED', 'void_refused']);
  assert.equal(await unsettled('void'), 1);
});
