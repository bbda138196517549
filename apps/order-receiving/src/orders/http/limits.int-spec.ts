import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACME, call, startTestApp, TestApp } from '../../../test/test-app';

/** Rate limiting per tenant (a tiny bucket, so this file has its own app). */
let t: TestApp;
let base: string;

before(async () => {
  t = await startTestApp('recv_limits', { RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' });
  base = t.base;
});

after(async () => {
  await t?.stop();
});

test('a tenant over its rate limit gets 429 with Retry-After; another tenant is unaffected', async () => {
  const results = [];
  for (let i = 0; i < 5; i++) results.push(await call(base, 'GET', '/orders', { headers: ACME }));
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 429, 429]);
  const limited = results[3];
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.equal(limited.body.statusCode, 429);
  const other = await call(base, 'GET', '/orders', { headers: { authorization: 'Bearer demo-key' } });
  assert.equal(other.status, 200);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await call(base, 'GET', '/orders', { headers: ACME })).status, 200, 'refilled after Retry-After');
});
