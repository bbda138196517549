import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { eventually, TcpProxy } from '@orders/testing';
import { call, DEMO, newKey, placeOrder, startTestApp, TestApp } from '../../../test/test-app';

/** PostgreSQL unreachable (behind a TCP proxy that cuts and refuses): intake says 503 + Retry-After, and the retry works. */
let t: TestApp;
let proxy: TcpProxy;

before(async () => {
  proxy = new TcpProxy('127.0.0.1', 5432);
  await proxy.start();
  t = await startTestApp('recv_outage', {}, (u) => {
    const url = new URL(u);
    url.host = `127.0.0.1:${proxy.port}`;
    return url.toString();
  });
});

after(async () => {
  await t?.stop();
  await proxy?.stop();
});

async function ordersWithKey(key: string): Promise<number> {
  const c = new Client({ connectionString: t.db.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM receiving.orders o JOIN receiving.idempotency_keys k ON k.order_id = o.id WHERE k.key = $1`, [key],
    );
    return rows[0].n;
  } finally {
    await c.end();
  }
}

test('while the database is unreachable, intake is 503 with Retry-After; the same key succeeds once it is back, exactly once', async () => {
  assert.equal((await placeOrder(t.base)).status, 202);

  proxy.refuse(true);
  proxy.dropAll();
  const key = newKey();
  for (let i = 0; i < 5; i++) {
    const r = await placeOrder(t.base, undefined, {}, key);
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.statusCode, 503);
    const retryAfter = Number(r.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 30, `Retry-After: ${r.headers.get('retry-after')}`);
  }
  const list = await call(t.base, 'GET', '/orders', { headers: DEMO });
  assert.equal(list.status, 503, 'reads too');

  proxy.refuse(false);
  const back = await eventually(async () => {
    const r = await placeOrder(t.base, undefined, {}, key);
    return r.status === 202 ? r : undefined;
  }, 20000, 200, 'the retried order to be accepted');
  const replay = await placeOrder(t.base, undefined, {}, key);
  assert.equal(replay.body.id, back.body.id, 'the retry after the outage is one order');
  assert.equal(await ordersWithKey(key), 1);
});
