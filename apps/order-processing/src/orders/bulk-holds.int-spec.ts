import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { DataSource } from 'typeorm';
import { BulkHolds } from './bulk-holds';
import { cancel, placeOrder, Rig, startRig, statusOf } from '../../test/harness';

/** A flood's placements wait in the broker while their tenant has no room, not as thousands of rows; every one of them still ends. */
let rig: Rig;

before(async () => {
  // a hold far longer than the test: only an order of the tenant ending here lets a held placement go
  rig = await startRig('holds', { TENANT_MAX_IN_FLIGHT: '2', TENANT_SHARED_IN_FLIGHT: '2', PLACED_CONCURRENCY: '2', TENANT_BULK_HOLD_MS: '60000' });
});

after(async () => {
  await rig?.stop();
});

const started = (tenantId: string) => rig.bus.messages('inventory.reserve.v1', (p) => p.tenantId === tenantId).map((e) => e.payload.orderId);
const storedRows = async (tenantId: string) =>
  ((await rig.app.get(DataSource).query('SELECT count(*)::int AS n FROM orders WHERE tenant_id = $1', [tenantId])) as Array<{ n: number }>)[0].n;

test("a flood's placements beyond its room wait in the broker; each of its orders that ends lets the next one in, a cancel of one still on its way wins, all end", async () => {
  const flood: string[] = [];
  for (let i = 0; i < 12; i++) {
    const orderId = randomUUID();
    rig.inventory.reserve.set(orderId, 'hold'); // in flight until the test ends it
    flood.push(orderId);
    await placeOrder(rig.bus, { orderId, tenantId: 'flood', lane: 'bulk' });
  }
  const holds = rig.app.get(BulkHolds);
  await eventually(() => started('flood').length === 2 && holds.heldCount('flood') === 2, 10000, 20, 'two in flight, and the prefetch (2) full of held placements');
  const rows = await storedRows('flood');
  assert.ok(rows <= 4, `only the orders in flight and the one or two that found no room are stored (${rows} of 12)`);

  // another tenant's order goes by at once
  const quiet = randomUUID();
  rig.inventory.reserve.set(quiet, 'hold');
  await placeOrder(rig.bus, { orderId: quiet, tenantId: 'quiet' });
  await eventually(() => started('quiet').length === 1, 10000, 20, "the quiet tenant's order starts");

  // the last placement is still in the broker: its cancel is remembered, and it ends CANCELLED when it arrives
  const verdict = await cancel(rig, flood[11], 'flood');
  assert.deepEqual(verdict, { outcome: 'will_cancel', status: 'PENDING' });

  // the flood's orders end one by one as they start; each end lets the next ones in
  const ended = new Set<string>();
  await eventually(async () => {
    for (const id of started('flood')) {
      if (ended.has(id)) continue;
      ended.add(id);
      await rig.bus.publish('inventory.reservation-rejected.v1', { orderId: id, tenantId: 'flood', reason: 'out_of_stock', skus: ['SKU-A'] });
    }
    return ended.size === 11;
  }, 30000, 20, 'eleven of the flood started and ended');
  await statusOf(rig.bus, flood[11], 'CANCELLED');
  for (const id of flood.slice(0, 11)) await statusOf(rig.bus, id, 'REJECTED');
  assert.equal(holds.heldCount('flood'), 0);
  assert.ok(!started('flood').includes(flood[11]), 'the cancelled order never reserved');
});
