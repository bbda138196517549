import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@orders/testing';
import { auth, startApp, TestApp } from '../../test/test-kit';

/** The webhooks API's per-tenant rate limit (a tiny bucket, so this file has its own app). */
let t: TestApp;

before(async () => {
  t = await startApp({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' });
});

after(async () => {
  await t?.close();
});

const call = (method: string, path: string, authorization: string, body?: unknown) =>
  fetch(`${t.base}${path}`, {
    method,
    headers: body === undefined ? { authorization } : { authorization, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const key = (tenant: string) => auth(tenant).authorization;

test('a tenant over its rate limit gets 429 with Retry-After on every webhooks route; another tenant is unaffected', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await call('GET', '/webhooks', key('t1'))).status);
  const limited = await call('GET', '/webhooks', key('t1'));
  statuses.push(limited.status);
  assert.deepEqual(statuses, [200, 200, 200, 429]);
  const retryAfter = Number(limited.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${limited.headers.get('retry-after')}`);
  const body = (await limited.json()) as { statusCode: number; message: string };
  assert.equal(body.statusCode, 429);
  assert.match(body.message, /rate limit/);

  for (const [method, path, payload] of [
    ['POST', '/webhooks', { url: 'http://127.0.0.1:9/limited' }], ['GET', `/webhooks/${randomUUID()}`], ['DELETE', `/webhooks/${randomUUID()}`],
    ['GET', `/webhooks/${randomUUID()}/deliveries`],
  ] as Array<[string, string, unknown?]>) {
    assert.equal((await call(method, path, key('t1'), payload)).status, 429, `${method} ${path}`);
  }
  assert.equal((await call('GET', '/webhooks', key('t2'))).status, 200, 'another tenant has its own bucket');
  assert.equal((await call('GET', '/webhooks', 'Bearer not-a-key-at-all')).status, 401, 'a bad key is refused as before');

  // the bucket refills: a request after the wait passes, and the limited registration above wrote nothing
  const waited = Date.now();
  const list = await eventually(async () => {
    const r = await call('GET', '/webhooks', key('t1'));
    return r.status === 200 ? ((await r.json()) as { items: unknown[] }) : undefined;
  }, 5000, 100, 'a request passing again');
  assert.ok(Date.now() - waited <= retryAfter * 1000 + 500, `passed again after ${Date.now() - waited} ms`);
  assert.deepEqual(list.items, []);
});
