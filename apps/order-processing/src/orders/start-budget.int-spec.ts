import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { placeOrder, Rig, startRig } from '../../test/harness';

/**
 * While another tenant is active, a flood starts at most TENANT_SHARED_STARTS_PER_SECOND orders a second, and
 * what its budget held back is started by the budget's own timer (the sweep is too slow to matter here).
 */
let rig: Rig;

before(async () => {
  rig = await startRig('budget', {
    TENANT_MAX_IN_FLIGHT: '8', TENANT_SHARED_IN_FLIGHT: '2', TENANT_SHARED_STARTS_PER_SECOND: '4', TENANT_ACTIVE_WINDOW_MS: '0',
    PLACED_CONCURRENCY: '4', ADMISSION_SWEEP_MS: '60000',
  });
});

after(async () => {
  await rig?.stop();
});

/** When each of the tenant's orders asked inventory to reserve (its start), in order. */
const startTimes = (tenantId: string) =>
  rig.bus.messages('inventory.reserve.v1', (p) => p.tenantId === tenantId).map((e) => Date.parse(e.occurredAt)).sort((a, b) => a - b);

test("beside another tenant's order in flight, a flood starts at the budget's rate, and all of it starts without the sweep", async () => {
  const quiet = randomUUID();
  rig.inventory.reserve.set(quiet, 'hold'); // in flight for the whole test: the flood shares the platform
  await placeOrder(rig.bus, { orderId: quiet, tenantId: 'quiet' });
  await eventually(() => startTimes('quiet').length === 1, 10000, 20, "the quiet tenant's order starts");

  for (let i = 0; i < 8; i++) {
    const orderId = randomUUID();
    rig.inventory.reserve.set(orderId, { reject: 'out_of_stock' }); // each ends at once: only the budget holds the flood back
    await placeOrder(rig.bus, { orderId, tenantId: 'flood' });
  }
  await eventually(() => startTimes('flood').length === 8, 15000, 20, 'every order of the flood starts (the budget timer, not the 60 s sweep)');
  const t = startTimes('flood');
  // a burst of TENANT_SHARED_IN_FLIGHT, then one per 250 ms: eight starts span at least 5 × 250 ms (slack for the clock's rounding)
  assert.ok(t[7] - t[0] >= 1200, `the flood's eight starts spanned ${t[7] - t[0]} ms; at 4 a second after a burst of 2 they take at least 1,250`);
});
