import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@orders/platform';
import { eventually } from '@orders/testing';
import { bootstrap } from './bootstrap';
import { PaymentSimEnv } from './config';

let app: NestFastifyApplication;
let base: string;

before(async () => {
  app = await bootstrap(loadConfig(PaymentSimEnv, { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' }));
  base = await app.getUrl();
});

after(async () => {
  await app?.close();
});

beforeEach(async () => {
  await put('/control', { latencyMs: 0, errorRate: 0, outage: false });
});

interface Res {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}
const put = (path: string, body: unknown) => call('PUT', path, body);
const authorize = (token: string, key: string | null = randomUUID(), orderId = randomUUID()) =>
  call('POST', '/authorizations', { orderId, amountCents: 1999, currency: 'EUR', token }, key === null ? {} : { 'idempotency-key': key });
const listFor = async (orderId: string) => (await call('GET', `/authorizations?orderId=${orderId}`)).body.items as Array<Record<string, unknown>>;

test('tok_ok authorizes: 201 with id, order, amount and status authorized', async () => {
  const orderId = randomUUID();
  const r = await authorize('tok_ok', randomUUID(), orderId);
  assert.equal(r.status, 201);
  assert.equal(r.body.status, 'authorized');
  assert.equal(r.body.orderId, orderId);
  assert.equal(r.body.amountCents, 1999);
  assert.equal(r.body.currency, 'EUR');
  assert.match(String(r.body.id), /^auth_/);
  const items = await listFor(orderId);
  assert.deepEqual(items.map((a) => a.id), [r.body.id]);
});

test('tok_decline answers 402 declined with a reason and stores no authorization', async () => {
  const orderId = randomUUID();
  const r = await authorize('tok_decline', randomUUID(), orderId);
  assert.equal(r.status, 402);
  assert.equal(r.body.status, 'declined');
  assert.equal(r.body.reason, 'card_declined');
  assert.deepEqual(await listFor(orderId), []);
});

test('any other token, a missing Idempotency-Key or a bad body is 400 naming the problem', async () => {
  const bad = await authorize('tok_weird');
  assert.equal(bad.status, 400);
  assert.match(String(bad.body.message), /token/);
  const noKey = await authorize('tok_ok', null);
  assert.equal(noKey.status, 400);
  assert.match(String(noKey.body.message), /Idempotency-Key/);
  const badBody = await call('POST', '/authorizations', { orderId: 'o1', amountCents: -5, currency: 'euro', token: 'tok_ok', extra: 1 }, { 'idempotency-key': 'k-bad' });
  assert.equal(badBody.status, 400);
  const fields = (badBody.body.details as Array<{ field: string }>).map((d) => d.field).sort();
  assert.deepEqual(fields, ['amountCents', 'currency', 'extra']);
});

test('the same Idempotency-Key replays the first answer and never authorizes twice', async () => {
  const orderId = randomUUID();
  const key = randomUUID();
  const first = await authorize('tok_ok', key, orderId);
  const again = await authorize('tok_ok', key, orderId);
  const concurrent = await Promise.all([1, 2, 3].map(() => authorize('tok_ok', key, orderId)));
  for (const r of [again, ...concurrent]) {
    assert.equal(r.status, 201);
    assert.deepEqual(r.body, first.body);
    assert.equal(r.headers.get('idempotent-replayed'), 'true');
  }
  assert.equal((await listFor(orderId)).length, 1);

  const declineKey = randomUUID();
  await authorize('tok_decline', declineKey);
  const replayedDecline = await authorize('tok_ok', declineKey);
  assert.equal(replayedDecline.status, 402, 'a replay answers as the first request did');
});

test('concurrent first requests with one key during latency still create one authorization', async () => {
  await put('/control', { latencyMs: 100 });
  const orderId = randomUUID();
  const key = randomUUID();
  const rs = await Promise.all([1, 2, 3, 4].map(() => authorize('tok_ok', key, orderId)));
  assert.equal(new Set(rs.map((r) => r.body.id)).size, 1);
  assert.equal((await listFor(orderId)).length, 1);
});

test('capture and void are idempotent, unknown ids are 404, capturing a voided one is 409', async () => {
  const a = await authorize('tok_ok');
  const id = String(a.body.id);
  const c1 = await call('POST', `/authorizations/${id}/capture`);
  const c2 = await call('POST', `/authorizations/${id}/capture`);
  assert.equal(c1.status, 200);
  assert.equal(c1.body.status, 'captured');
  assert.equal(c2.status, 200);
  assert.equal(c2.body.status, 'captured');
  assert.equal((await call('POST', `/authorizations/${id}/void`)).status, 409);

  const b = await authorize('tok_ok');
  const bid = String(b.body.id);
  const v1 = await call('POST', `/authorizations/${bid}/void`);
  const v2 = await call('POST', `/authorizations/${bid}/void`);
  assert.equal(v1.status, 200);
  assert.equal(v1.body.status, 'voided');
  assert.equal(v2.status, 200);
  const c = await call('POST', `/authorizations/${bid}/capture`);
  assert.equal(c.status, 409);
  assert.equal(c.body.statusCode, 409);
  assert.equal((await listFor(String(b.body.orderId)))[0].status, 'voided');

  assert.equal((await call('POST', '/authorizations/auth_nope/capture')).status, 404);
  assert.equal((await call('POST', '/authorizations/auth_nope/void')).status, 404);
});

test('errorRate 1 answers 503 and stores nothing: the key works once the errors stop', async () => {
  const ctl = await put('/control', { errorRate: 1 });
  assert.deepEqual(ctl.body, { latencyMs: 0, errorRate: 1, outage: false });
  assert.deepEqual((await call('GET', '/control')).body, { latencyMs: 0, errorRate: 1, outage: false });
  const orderId = randomUUID();
  const key = randomUUID();
  const r = await authorize('tok_ok', key, orderId);
  assert.equal(r.status, 503);
  assert.equal(r.body.statusCode, 503);
  assert.deepEqual(await listFor(orderId), []);
  await put('/control', { errorRate: 0 });
  assert.equal((await authorize('tok_ok', key, orderId)).status, 201);
});

test('an outage answers 503 to every POST, including capture and void', async () => {
  const a = await authorize('tok_ok');
  await put('/control', { outage: true });
  assert.equal((await authorize('tok_ok')).status, 503);
  assert.equal((await call('POST', `/authorizations/${String(a.body.id)}/capture`)).status, 503);
  assert.equal((await call('POST', `/authorizations/${String(a.body.id)}/void`)).status, 503);
  assert.equal((await listFor(String(a.body.orderId)))[0].status, 'authorized');
  await put('/control', { outage: false });
  assert.equal((await call('POST', `/authorizations/${String(a.body.id)}/capture`)).status, 200);
});

test('latency delays each POST by at least latencyMs, including 503s', async () => {
  await put('/control', { latencyMs: 300 });
  let t = Date.now();
  assert.equal((await authorize('tok_ok')).status, 201);
  assert.ok(Date.now() - t >= 290, `answered after ${Date.now() - t} ms`);
  await put('/control', { outage: true });
  t = Date.now();
  assert.equal((await authorize('tok_ok')).status, 503);
  assert.ok(Date.now() - t >= 290);
});

test('control rejects out-of-range values with 400', async () => {
  const r = await put('/control', { latencyMs: 60001, errorRate: 1.5, outage: 'yes' });
  assert.equal(r.status, 400);
  assert.deepEqual((r.body.details as Array<{ field: string }>).map((d) => d.field).sort(), ['errorRate', 'latencyMs', 'outage']);
});

test('health and metrics answer', async () => {
  assert.equal((await call('GET', '/health/live')).status, 200);
  assert.equal((await call('GET', '/health/ready')).status, 200);
  const m = await fetch(`${base}/metrics`);
  assert.equal(m.status, 200);
  assert.match(await m.text(), /http_requests_total/);
});

test('GET /authorizations?idempotencyKey= finds the authorization created under that key, as it stands now', async () => {
  const orderId = randomUUID();
  const key = `${orderId}:authorize`;
  assert.deepEqual((await call('GET', `/authorizations?idempotencyKey=${encodeURIComponent(key)}`)).body, { items: [] });
  const a = await authorize('tok_ok', key, orderId);
  await call('POST', `/authorizations/${String(a.body.id)}/void`);
  const found = (await call('GET', `/authorizations?idempotencyKey=${encodeURIComponent(key)}`)).body.items as Array<Record<string, unknown>>;
  assert.deepEqual(found.map((x) => [x.id, x.orderId, x.status]), [[a.body.id, orderId, 'voided']]);

  const declined = `${randomUUID()}:authorize`;
  await authorize('tok_decline', declined);
  assert.deepEqual((await call('GET', `/authorizations?idempotencyKey=${encodeURIComponent(declined)}`)).body, { items: [] });
  assert.equal((await call('GET', `/authorizations?idempotencyKey=${encodeURIComponent('bad key')}`)).status, 400);
});

test('the answer arrives even if the client gave up during the latency: the authorization is found by its key', async () => {
  await put('/control', { latencyMs: 300 });
  const orderId = randomUUID();
  const key = `${orderId}:authorize`;
  const res = await fetch(`${base}/authorizations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ orderId, amountCents: 1999, currency: 'EUR', token: 'tok_ok' }),
    signal: AbortSignal.timeout(50),
  }).catch((e: Error) => e);
  assert.ok(res instanceof Error, 'the client timed out');
  const items = await eventually(async () => {
    const found = (await call('GET', `/authorizations?idempotencyKey=${encodeURIComponent(key)}`)).body.items as Array<Record<string, unknown>>;
    return found.length > 0 ? found : undefined;
  }, 5000, 50, 'the late authorization recorded');
  assert.deepEqual(items.map((x) => [x.orderId, x.status]), [[orderId, 'authorized']]);
});

test('a restart keeps authorizations and idempotency answers (journal): capture works and the key replays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-sim-'));
  const file = join(dir, 'state.jsonl');
  const start = async () => {
    const sim = await bootstrap(loadConfig(PaymentSimEnv, { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', SIM_STATE_FILE: file }));
    return { sim, url: await sim.getUrl() };
  };
  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> });
  const post = (url: string, path: string, key: string, body?: unknown) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'idempotency-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(json);
  try {
    let { sim, url } = await start();
    const orderId = randomUUID();
    const key = `${orderId}:authorize`;
    const body = { orderId, amountCents: 4200, currency: 'EUR', token: 'tok_ok' };
    const first = await post(url, '/authorizations', key, body);
    const other = await post(url, '/authorizations', `${randomUUID()}:authorize`, { ...body, orderId: randomUUID() });
    await post(url, `/authorizations/${String(other.body.id)}/void`, 'v');
    await sim.close();
    appendFileSync(file, '{"t":"auth","a":{"id":"torn'); // a write torn by a crash is skipped

    ({ sim, url } = await start());
    try {
      const replay = await post(url, '/authorizations', key, body);
      assert.equal(replay.status, 201);
      assert.deepEqual(replay.body, first.body);
      const captured = await post(url, `/authorizations/${String(first.body.id)}/capture`, 'c');
      assert.equal(captured.status, 200);
      assert.equal(captured.body.status, 'captured');
      assert.equal((await post(url, `/authorizations/${String(other.body.id)}/capture`, 'c2')).status, 409, 'still voided');
    } finally {
      await sim.close();
    }

    ({ sim, url } = await start());
    try {
      const all = ((await (await fetch(`${url}/authorizations`)).json()) as { items: Array<Record<string, unknown>> }).items;
      assert.deepEqual(all.map((a) => [a.id, a.status]).sort(), [[first.body.id, 'captured'], [other.body.id, 'voided']].sort());
      const byKey = ((await (await fetch(`${url}/authorizations?idempotencyKey=${encodeURIComponent(key)}`)).json()) as { items: Array<Record<string, unknown>> }).items;
      assert.deepEqual(byKey.map((a) => a.status), ['captured']);
    } finally {
      await sim.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
