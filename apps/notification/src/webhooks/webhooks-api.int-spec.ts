import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { auth, startApp, TestApp } from '../../test/test-kit';
import type { WebhookView } from './webhook.dto';

/** Any answer of the API under test (success or error shape), loosely typed for assertions. */
interface ApiBody extends WebhookView {
  secret: string;
  previousSecretValidUntil: string;
  items: WebhookView[];
  statusCode: number;
  message: string;
  details: Array<{ field: string; errors: string[] }>;
}

let t: TestApp;

before(async () => {
  t = await startApp();
});

after(async () => {
  await t?.close();
});

async function call(method: string, path: string, tenant: string | null, body?: unknown): Promise<{ status: number; body: ApiBody }> {
  const headers: Record<string, string> = tenant ? { authorization: auth(tenant).authorization } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const register = (tenant: string, body: unknown) => call('POST', '/webhooks', tenant, body);

test('a tenant registers an endpoint and sees its secret once', async () => {
  const r = await register('t1', { url: 'http://localhost:9/hooks', events: ['CONFIRMED', 'REJECTED'] });
  assert.equal(r.status, 201);
  assert.match(r.body.id, /^[0-9a-f-]{36}$/);
  assert.equal(r.body.url, 'http://localhost:9/hooks');
  assert.deepEqual(r.body.events, ['CONFIRMED', 'REJECTED']);
  assert.match(r.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(r.body.secret.slice(6), 'base64').length, 32);

  const list = await call('GET', '/webhooks', 't1');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((w) => w.id), [r.body.id]);
  assert.equal(list.body.items[0].enabled, true);
  assert.ok(!JSON.stringify(list.body).includes('whsec_'), 'no secret in the list');
  const one = await call('GET', `/webhooks/${r.body.id}`, 't1');
  assert.equal(one.status, 200);
  assert.equal(one.body.secret, undefined);

  const all = await register('t1', { url: 'https://127.0.0.1/all' });
  assert.deepEqual(all.body.events, ['*'], 'no filter means every status');
});

test('without a valid API key every webhook route is 401', async () => {
  const id = randomUUID();
  for (const [method, path] of [['POST', '/webhooks'], ['GET', '/webhooks'], ['GET', `/webhooks/${id}`], ['DELETE', `/webhooks/${id}`],
    ['POST', `/webhooks/${id}/rotate-secret`], ['GET', `/webhooks/${id}/deliveries`], ['POST', `/webhooks/${id}/deliveries/${id}/resend`]]) {
    const none = await fetch(`${t.base}${path}`, { method });
    assert.equal(none.status, 401, `${method} ${path}`);
    const wrong = await fetch(`${t.base}${path}`, { method, headers: { authorization: 'Bearer nope-nope-nope' } });
    assert.equal(wrong.status, 401, `${method} ${path}`);
    assert.equal(((await wrong.json()) as { statusCode: number }).statusCode, 401);
  }
});

test('bad registrations are 400 naming the field', async () => {
  const cases: Array<[unknown, string]> = [
    [{}, 'url'],
    [{ url: 'not a url' }, 'url'],
    [{ url: 'ftp://example.com/x' }, 'url'],
    [{ url: 'https://example.com/x', events: ['SHIPPED'] }, 'events'],
    [{ url: 'https://example.com/x', events: [] }, 'events'],
    [{ url: 'https://example.com/x', secret: 'mine' }, 'secret'],
  ];
  for (const [body, field] of cases) {
    const r = await register('t2', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.ok(r.body.details.some((d) => d.field === field), `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
  }
});

test('the address guard refuses private, link-local and metadata targets at registration', async () => {
  const refused: Array<[string, RegExp]> = [
    ['http://169.254.169.254/latest/meta-data/', /link-local/],
    ['https://[::ffff:169.254.169.254]/', /link-local/],
    ['https://[fe80::1]/', /link-local/],
    ['https://10.0.0.7/hooks', /private/],
    ['https://192.168.1.20/hooks', /private/],
    ['https://[fd00::1]/hooks', /private/],
    ['https://0.0.0.0/hooks', /unspecified/],
    ['https://224.0.0.1/hooks', /multicast/],
    ['http://93.184.216.34/hooks', /use https/],
  ];
  for (const [url, why] of refused) {
    const r = await register('t2', { url });
    assert.equal(r.status, 400, url);
    assert.equal(r.body.details[0].field, 'url');
    assert.match(r.body.message, why, url);
  }
  assert.equal((await call('GET', '/webhooks', 't2')).body.items.length, 0);
  // loopback is allowed in this configuration (as with npm start), including by name
  assert.equal((await register('t2', { url: 'http://localhost:8080/dev' })).status, 201);
  assert.equal((await register('t2', { url: 'https://93.184.216.34/hooks' })).status, 201);
});

test('one tenant never sees or changes another tenant\'s endpoints', async () => {
  const mine = await register('t3', { url: 'http://127.0.0.1:9/mine' });
  const id = mine.body.id;
  assert.deepEqual((await call('GET', '/webhooks', 't4')).body.items, []);
  assert.equal((await call('GET', `/webhooks/${id}`, 't4')).status, 404);
  assert.equal((await call('DELETE', `/webhooks/${id}`, 't4')).status, 404);
  assert.equal((await call('POST', `/webhooks/${id}/rotate-secret`, 't4')).status, 404);
  assert.equal((await call('GET', `/webhooks/${id}/deliveries`, 't4')).status, 404);
  assert.equal((await call('POST', `/webhooks/${id}/deliveries/${randomUUID()}/resend`, 't4')).status, 404);
  assert.equal((await call('GET', `/webhooks/${id}`, 't3')).status, 200, 'still there for its owner');

  const del = await call('DELETE', `/webhooks/${id}`, 't3');
  assert.equal(del.status, 204);
  assert.equal((await call('DELETE', `/webhooks/${id}`, 't3')).status, 404);
  assert.deepEqual((await call('GET', '/webhooks', 't3')).body.items, []);
  assert.equal((await call('GET', '/webhooks/not-a-uuid', 't3')).status, 400);
});

test('rotating the secret returns a new one, once', async () => {
  const w = await register('t5', { url: 'http://127.0.0.1:9/rot' });
  const r = await call('POST', `/webhooks/${w.body.id}/rotate-secret`, 't5');
  assert.equal(r.status, 200);
  assert.match(r.body.secret, /^whsec_/);
  assert.notEqual(r.body.secret, w.body.secret);
  const graceHours = (Date.parse(r.body.previousSecretValidUntil) - Date.now()) / 3_600_000;
  assert.ok(graceHours > 23.9 && graceHours <= 24, String(graceHours));
});
