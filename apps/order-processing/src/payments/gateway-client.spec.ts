import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { GatewayClient, GatewayClientOptions } from './gateway-client';
import { PaymentError } from './payment.error';

/** A tiny scripted stand-in for the gateway (this unit's only I/O): each request takes the next planned answer. */
type Plan = { status: number; body?: unknown; delayMs?: number };
let server: Server;
let baseUrl: string;
let plan: Plan[] = [];
let seen: Array<{ method: string; url: string; key: string | undefined; body: unknown }> = [];

before(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, key: req.headers['idempotency-key'] as string | undefined, body: raw ? JSON.parse(raw) : undefined });
      const p = plan.shift() ?? { status: 500 };
      const t = setTimeout(() => {
        res.writeHead(p.status, { 'content-type': 'application/json' }).end(JSON.stringify(p.body ?? {}));
      }, p.delayMs ?? 0);
      res.on('close', () => clearTimeout(t));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  plan = [];
  seen = [];
});

const clients: GatewayClient[] = [];
after(() => clients.forEach((c) => c.shutdown()));

function client(o: Partial<GatewayClientOptions> = {}): GatewayClient {
  const c = new GatewayClient({
    baseUrl, timeoutMs: 200, retries: 2, backoffBaseMs: 5, backoffMaxMs: 20,
    breaker: { errorThresholdPercentage: 50, volumeThreshold: 100, resetTimeoutMs: 60000, rollingWindowMs: 10000 },
    ...o,
  });
  clients.push(c);
  return c;
}

const req = { orderId: '5e0c2b46-8f0e-4b7b-9d55-0d0b4c8f3a11', amountCents: 2500, currency: 'EUR', token: 'tok_ok' };

test('a 503 is retried with the same idempotency key until it succeeds', async () => {
  plan = [{ status: 503 }, { status: 503 }, { status: 201, body: { id: 'auth_1', status: 'authorized' } }];
  const r = await client().authorize(req);
  assert.deepEqual(r, { outcome: 'authorized', authorizationId: 'auth_1' });
  assert.equal(seen.length, 3);
  assert.deepEqual(new Set(seen.map((s) => s.key)), new Set([`${req.orderId}:authorize`]));
  assert.deepEqual(seen[0].body, req);
  assert.equal(seen[0].url, '/authorizations');
});

test('still failing after the retries: a gateway_unavailable error that defers the step', async () => {
  plan = [{ status: 500 }, { status: 502 }, { status: 503 }];
  await assert.rejects(client().authorize(req), (e: unknown) => e instanceof PaymentError && e.code === 'gateway_unavailable' && e.disposition === 'defer');
  assert.equal(seen.length, 3);
});

test('a slow gateway is really aborted after the timeout, then retried', async () => {
  plan = [{ status: 201, body: { id: 'late' }, delayMs: 1000 }, { status: 201, body: { id: 'auth_2' } }];
  const started = Date.now();
  const r = await client({ timeoutMs: 100, retries: 1 }).authorize(req);
  assert.deepEqual(r, { outcome: 'authorized', authorizationId: 'auth_2' });
  assert.ok(Date.now() - started < 800, `took ${Date.now() - started} ms`);
  assert.equal(seen.length, 2);
});

test('a decline and a bad token are answers: final, not retried', async () => {
  plan = [{ status: 402, body: { status: 'declined', reason: 'insufficient_funds' } }, { status: 400, body: { message: 'unknown token' } }];
  const c = client();
  assert.deepEqual(await c.authorize({ ...req, token: 'tok_decline' }), { outcome: 'declined', reason: 'insufficient_funds' });
  assert.deepEqual(await c.authorize({ ...req, token: 'bad' }), { outcome: 'invalid', message: 'unknown token' });
  assert.equal(seen.length, 2);
});

test('declines do not trip the breaker; transient failures do, and then calls fail fast without reaching the gateway', async () => {
  const c = client({ retries: 0, breaker: { errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs: 60000, rollingWindowMs: 10000 } });
  plan = Array.from({ length: 6 }, () => ({ status: 402, body: { status: 'declined', reason: 'x' } }));
  for (let i = 0; i < 6; i++) assert.equal((await c.authorize(req)).outcome, 'declined');
  assert.equal(c.isOpen, false);

  seen = [];
  plan = Array.from({ length: 10 }, () => ({ status: 503 }));
  for (let i = 0; i < 10 && !c.isOpen; i++) await assert.rejects(c.authorize(req), PaymentError);
  assert.equal(c.isOpen, true);
  const reached = seen.length;
  await assert.rejects(c.authorize(req), (e: unknown) => e instanceof PaymentError && e.code === 'gateway_unavailable' && /breaker open/.test(e.message));
  assert.equal(seen.length, reached, 'an open breaker does not call the gateway');
});

test('half-open: only one probe reaches the gateway, concurrent calls fail fast without retrying; a good probe closes the breaker', async () => {
  const c = client({ retries: 3, breaker: { errorThresholdPercentage: 50, volumeThreshold: 1, resetTimeoutMs: 100, rollingWindowMs: 10000 } });
  plan = [{ status: 503 }];
  await assert.rejects(c.authorize(req), PaymentError);
  assert.equal(c.isOpen, true);
  await new Promise((r) => setTimeout(r, 150));
  seen = [];
  plan = [{ status: 201, body: { id: 'auth_probe' }, delayMs: 80 }, { status: 201, body: { id: 'auth_other' } }];
  const [probe, other] = await Promise.allSettled([c.authorize(req), c.authorize({ ...req, orderId: 'b0c1d2e3-0000-4000-8000-000000000001' })]);
  assert.deepEqual(probe.status === 'fulfilled' && probe.value, { outcome: 'authorized', authorizationId: 'auth_probe' });
  assert.ok(other.status === 'rejected' && other.reason instanceof PaymentError && /breaker open/.test(other.reason.message));
  assert.equal(seen.length, 1, 'only the probe went out');
  assert.equal(c.isOpen, false);
});

test('capture and void use their own idempotency keys and path; a refusal is not retried', async () => {
  plan = [{ status: 200, body: { status: 'captured' } }, { status: 200, body: { status: 'voided' } }, { status: 409, body: { message: 'already captured' } }];
  const c = client();
  await c.capture(req.orderId, 'auth_9');
  await c.void(req.orderId, 'auth_9');
  await assert.rejects(c.void(req.orderId, 'auth_9'), (e: unknown) => e instanceof PaymentError && e.disposition === 'dead-letter');
  assert.deepEqual(seen.map((s) => [s.url, s.key]), [
    ['/authorizations/auth_9/capture', `${req.orderId}:capture`],
    ['/authorizations/auth_9/void', `${req.orderId}:void`],
    ['/authorizations/auth_9/void', `${req.orderId}:void`],
  ]);
});
