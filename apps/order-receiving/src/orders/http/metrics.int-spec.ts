import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Gauge, register } from 'prom-client';
import { eventually } from '@orders/testing';
import { DEMO, startTestApp, TestApp } from '../../../test/test-app';

/**
 * GET /metrics on the public port: one collection per METRICS_CACHE_MS
 * however often it is scraped, and with METRICS_REQUIRE_TOKEN only for the
 * admin token (it names tenants). In development it stays open.
 */
let dev: TestApp;
let guarded: TestApp;
const ADMIN = 'metrics-test-admin-token';

/** Counts the collections of this process's registry: a gauge whose collect runs once per rendering, like the database- and broker-backed ones. */
let collections = 0;
const COUNTER = 'test_metrics_collections';

before(async () => {
  new Gauge({ name: COUNTER, help: 'collections seen by the test', collect() { this.set(++collections); } });
  [dev, guarded] = await Promise.all([
    startTestApp('recv_metrics_dev', { METRICS_CACHE_MS: '1000' }),
    startTestApp('recv_metrics_token', { METRICS_REQUIRE_TOKEN: 'true', ADMIN_TOKEN: ADMIN }),
  ]);
});

after(async () => {
  register.removeSingleMetric(COUNTER);
  await Promise.all([dev?.stop(), guarded?.stop()]);
});

const scrape = async (base: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${base}/metrics`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
};

test('scrapes within METRICS_CACHE_MS share one collection (and get the same exposition); the next one after it collects afresh', async () => {
  const first = await scrape(dev.base);
  assert.equal(first.status, 200, 'open in development: no token needed');
  assert.match(first.headers.get('content-type') ?? '', /^text\/plain/);
  const collectedAt = Date.now();
  const once = collections;
  const burst = await Promise.all(Array.from({ length: 20 }, () => scrape(dev.base)));
  assert.equal(collections, once, 'twenty more scrapes inside the window: no collection');
  for (const s of burst) assert.equal(s.text, first.text, 'the same rendering');

  const fresh = await eventually(async () => {
    const s = await scrape(dev.base);
    return collections > once ? s : undefined;
  }, 5000, 100, 'a collection once the window has passed');
  assert.ok(Date.now() - collectedAt >= 900, 'not before METRICS_CACHE_MS');
  assert.equal(collections, once + 1);
  assert.notEqual(fresh.text, first.text, 'the new rendering counts the scrapes since');
});

test('with METRICS_REQUIRE_TOKEN, /metrics is 401 without the admin token (nothing collected) and 200 with it', async () => {
  const before = collections;
  for (const headers of [{}, { authorization: 'Bearer wrong-token' }, DEMO, { authorization: ADMIN }] as Array<Record<string, string>>) {
    const r = await scrape(guarded.base, headers);
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    assert.equal(JSON.parse(r.text).statusCode, 401);
    assert.doesNotMatch(r.text, /tenant/);
  }
  assert.equal(collections, before, 'a refused scrape costs no collection');
  const ok = await scrape(guarded.base, { authorization: `Bearer ${ADMIN}` });
  assert.equal(ok.status, 200);
  assert.match(ok.text, /^http_requests_total\{/m);
  assert.equal((await fetch(`${guarded.base}/health/ready`)).status, 200, 'the health checks stay open');
});
