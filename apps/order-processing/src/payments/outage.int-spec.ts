import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, sleep } from '@orders/testing';
import { placeOrder, Rig, startRig } from '../../test/harness';

/**
 * Batches of orders against the real gateway simulator when it goes down for
 * 30 s, and when it fails 30% of the calls: the breaker opens and only its
 * probes reach the gateway, the orders wait instead of failing, all are
 * confirmed once it is back, and none is authorized twice.
 */
const BREAKER_RESET_MS = 3000;
let rig: Rig;

before(async () => {
  rig = await startRig('outage', {
    PAYMENT_CONCURRENCY: '4',
    PAYMENT_TIMEOUT_MS: '1000',
    PAYMENT_RETRIES: '1',
    PAYMENT_BACKOFF_BASE_MS: '50',
    PAYMENT_BACKOFF_MAX_MS: '200',
    BREAKER_VOLUME_THRESHOLD: '5',
    BREAKER_ERROR_THRESHOLD_PERCENT: '50',
    BREAKER_RESET_MS: String(BREAKER_RESET_MS),
    PAYMENT_WAIT_DELAYS_MS: '500,1000,2000,3000',
  });
});

after(async () => {
  await rig?.sim.control({ outage: false, latencyMs: 0, errorRate: 0 }).catch(() => undefined);
  await rig?.stop();
});

const statuses = (ids: Set<string>, status: string) =>
  rig.bus.messages('order.status-changed.v1', (p) => ids.has(p.orderId) && p.status === status).length;
const unhappy = (ids: Set<string>) => statuses(ids, 'FAILED') + statuses(ids, 'REJECTED') + statuses(ids, 'CANCELLED');

async function breakerOpen(): Promise<boolean> {
  const text = await (await fetch(`${rig.base}/metrics`)).text();
  return /^payment_gateway_breaker_open 1$/m.test(text);
}

async function placeBatch(n: number): Promise<Set<string>> {
  return new Set((await Promise.all(Array.from({ length: n }, () => placeOrder(rig.bus)))).map((o) => o.orderId));
}

/** Every order authorized exactly once at the gateway, and that authorization captured. */
async function chargedOnce(ids: Set<string>): Promise<void> {
  for (const id of ids) {
    const auths = await eventually(async () => {
      const a = await rig.sim.authorizations(id);
      return a.length === 1 && a[0].status === 'captured' ? a : a.length > 1 ? a : undefined;
    }, 15000, 100, `capture of ${id}`);
    assert.equal(auths.length, 1, `order ${id} authorized ${auths.length} times`);
  }
}

test('a 30 s gateway outage in the middle of a batch: breaker opens, only probes go out, nothing fails, all confirmed after recovery, none charged twice', async () => {
  const ORDERS = 40;
  const OUTAGE_MS = 30000;
  await rig.sim.control({ latencyMs: 100 }); // so the batch is still being paid for when the outage starts
  const ids = await placeBatch(ORDERS);
  await eventually(() => statuses(ids, 'CONFIRMED') >= 8, 20000, 20, 'first orders confirmed');
  await rig.sim.control({ outage: true });
  const outageAt = Date.now();
  const confirmedBefore = statuses(ids, 'CONFIRMED');
  assert.ok(confirmedBefore < ORDERS, 'the outage starts in the middle of the batch');

  await eventually(breakerOpen, 15000, 25, 'breaker open');
  const openedAt = Date.now();
  while (Date.now() - outageAt < OUTAGE_MS) {
    await sleep(500);
    assert.equal(unhappy(ids), 0, 'no order fails during the outage');
  }
  assert.ok(statuses(ids, 'CONFIRMED') < ORDERS, 'orders were waiting for the gateway');
  await rig.sim.control({ outage: false, latencyMs: 0 });
  const recoveredAt = Date.now();

  const duringOutage = rig.sim.requests.filter((r) => r.at >= outageAt && r.at < recoveredAt);
  const probes = duringOutage.filter((r) => r.at >= openedAt);
  const openMs = recoveredAt - openedAt;
  assert.ok(probes.length >= 1, 'the half-open breaker tried the gateway');
  assert.ok(probes.length <= Math.ceil(openMs / BREAKER_RESET_MS) + 1, `${probes.length} calls reached the gateway in ${openMs} ms of open breaker`);

  await eventually(() => statuses(ids, 'CONFIRMED') === ORDERS, 30000, 20, 'every order confirmed');
  const drainMs = Date.now() - recoveredAt;
  assert.equal(unhappy(ids), 0);
  await chargedOnce(ids);
  assert.equal(await rig.bus.queueDepth(`${rig.cfg.MQ_PREFIX}.order-processing.saga.dlq`), 0, 'nothing dead-lettered');
  process.stdout.write(
    `# outage run: ${ORDERS} orders (${confirmedBefore} confirmed before the outage); ${OUTAGE_MS / 1000} s outage; breaker open after ${openedAt - outageAt} ms ` +
      `(${duringOutage.length - probes.length} gateway calls before it opened); ${probes.length} probe(s) reached the gateway in ${openMs} ms of open breaker ` +
      `(reset ${BREAKER_RESET_MS} ms); all confirmed ${drainMs} ms after recovery; each authorized once\n`,
  );
});

test('a gateway failing 30% of calls: every order of the batch confirmed, none charged twice', async () => {
  const ORDERS = 30;
  await rig.sim.control({ outage: false, latencyMs: 0, errorRate: 0.3 });
  const before = rig.sim.requests.length;
  const started = Date.now();
  const ids = await placeBatch(ORDERS);
  await eventually(() => statuses(ids, 'CONFIRMED') === ORDERS || unhappy(ids) > 0, 45000, 20, 'every order confirmed');
  assert.equal(unhappy(ids), 0);
  assert.equal(statuses(ids, 'CONFIRMED'), ORDERS);
  const elapsed = Date.now() - started;
  await rig.sim.control({ errorRate: 0 });
  await chargedOnce(ids);
  const calls = rig.sim.requests.slice(before);
  assert.ok(calls.some((r) => r.status === 503), 'the gateway did fail some calls');
  process.stdout.write(`# 30% errors: ${ORDERS} orders confirmed in ${elapsed} ms; ${calls.length} gateway calls, ${calls.filter((r) => r.status === 503).length} answered 503\n`);
});
