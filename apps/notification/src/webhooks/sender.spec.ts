import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeDns } from '../../test/fake-dns';
import type { AddressPolicy } from './address-guard';
import { hostResolver } from './resolver';
import { postWebhook, WebhookRequest } from './sender';

const dev: AddressPolicy = { allowLoopback: true, allowNetworks: [] };
/** A local endpoint: `/slow` answers after 250 ms, anything else at once. */
const server = http.createServer((req, res) => {
  req.resume();
  const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  if (req.url === '/slow') setTimeout(answer, 250);
  else answer();
});
let port = 0;
const dns = new FakeDns((name) => (name === 'hooks.test' ? { a: ['127.0.0.1'] } : name === 'hang.test' ? 'silent' : 'nxdomain'));

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  await dns.start();
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await dns.stop();
});

const request = (over: Partial<WebhookRequest>): WebhookRequest => ({
  url: `http://hooks.test:${port}/`, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 2000, policy: dev, ...over,
});
const slowly = <T>(ms: number, value: T) => () => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
const loopback = [{ address: '127.0.0.1', family: 4 }];

test('an attempt whose DNS lookup never answers ends at its timeout', { timeout: 5000 }, async () => {
  const started = performance.now();
  const res = await postWebhook(request({ timeoutMs: 300, resolve: () => new Promise(() => undefined) }));
  assert.equal(res.statusCode, null);
  assert.match(res.error ?? '', /timed out after 300 ms/);
  assert.ok(performance.now() - started < 1000, `took ${Math.round(performance.now() - started)} ms`);
});

test('the lookup, the connection and the response share one timeout', { timeout: 5000 }, async () => {
  const url = `http://hooks.test:${port}/slow`;
  const ok = await postWebhook(request({ url, timeoutMs: 2000, resolve: slowly(250, loopback) }));
  assert.equal(ok.statusCode, 200, ok.error ?? '');
  // 250 ms of lookup plus 250 ms until the answer: over a 400 ms budget, though each alone is within it
  const late = await postWebhook(request({ url, timeoutMs: 400, resolve: slowly(250, loopback) }));
  assert.equal(late.statusCode, null);
  assert.match(late.error ?? '', /timed out after 400 ms/);
  assert.ok(late.latencyMs >= 380 && late.latencyMs < 1000, String(late.latencyMs));
});

test('names are asked of DNS within the attempt\'s deadline; a name DNS does not know falls back to the hosts file', { timeout: 5000 }, async () => {
  const resolve = hostResolver([dns.server]);
  const ok = await postWebhook(request({ resolve }));
  assert.equal(ok.statusCode, 200, ok.error ?? '');
  assert.ok(dns.queries.some((q) => q.name === 'hooks.test'), 'asked the DNS server');

  const started = performance.now();
  const hung = await postWebhook(request({ url: `http://hang.test:${port}/`, timeoutMs: 300, resolve }));
  assert.match(hung.error ?? '', /timed out after 300 ms/);
  assert.ok(performance.now() - started < 1000, `took ${Math.round(performance.now() - started)} ms`);
  assert.ok(dns.queries.some((q) => q.name === 'hang.test'), 'the query went out');

  const local = await postWebhook(request({ url: `http://localhost:${port}/`, resolve }));
  assert.equal(local.statusCode, 200, local.error ?? '');
});
