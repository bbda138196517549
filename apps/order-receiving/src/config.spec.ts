import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '@orders/platform';
import { OrderReceivingEnv } from './config';

test('defaults work for development: port 3000, schema receiving, the demo and acme keys', () => {
  const cfg = loadConfig(OrderReceivingEnv, {});
  assert.equal(cfg.PORT, 3000);
  assert.equal(cfg.DB_SCHEMA, 'receiving');
  assert.equal(cfg.IDEMPOTENCY_TTL_HOURS, 48);
  assert.equal(cfg.INTAKE_MAX_QUEUED, 4000);
  assert.equal(cfg.INTAKE_MAX_WAIT_MS, 3000);
  assert.ok(cfg.INTAKE_MAX_WAIT_MS < cfg.DB_STATEMENT_TIMEOUT_MS, 'a queued order gives up before a running statement is cancelled');
  assert.deepEqual([...cfg.tenantsByAuthorization], [['Bearer demo-key', 'demo'], ['Bearer acme-key', 'acme']]);
});

test('bad values stop start-up naming the variable', () => {
  for (const [name, value] of [['API_KEYS', 'demo'], ['API_KEYS', 'demo:short'], ['IDEMPOTENCY_TTL_HOURS', '12'], ['RATE_LIMIT_PER_SECOND', '0'], ['EVENTS_TOKEN_SECRET', 'short'], ['INTAKE_MAX_QUEUED', '0'], ['INTAKE_MAX_WAIT_MS', '10']]) {
    assert.throws(() => loadConfig(OrderReceivingEnv, { [name]: value }), (e: unknown) => e instanceof ConfigError && e.message.includes(name), `${name}=${value}`);
  }
});

test('with NODE_ENV=production it refuses to start while a secret has its development default, naming each, printing none', () => {
  const defaults = new OrderReceivingEnv() as unknown as Record<string, string>;
  const names = ['ADMIN_TOKEN', 'API_KEYS', 'EVENTS_TOKEN_SECRET'];
  assert.throws(
    () => loadConfig(OrderReceivingEnv, { NODE_ENV: 'production' }),
    (e: unknown) => e instanceof ConfigError && names.every((n) => e.problems.some((p) => p.startsWith(`${n}:`)) && !e.message.includes(defaults[n])),
  );
  const real = Object.fromEntries(names.map((n) => [n, n === 'API_KEYS' ? 'shop:production-key-1234' : 'a-production-secret-of-enough-length']));
  assert.ok(loadConfig(OrderReceivingEnv, { NODE_ENV: 'production', ...real }));
});

test('an event stream waits for a missing status longer than the longest deferral of the event that carries it', () => {
  assert.ok(loadConfig(OrderReceivingEnv, {}).sseGapWaitMs > 30_000);
  assert.ok(loadConfig(OrderReceivingEnv, { RETRY_DELAYS_MS: '1000,120000' }).sseGapWaitMs > 120_000);
  assert.equal(loadConfig(OrderReceivingEnv, { SSE_GAP_WAIT_MS: '5000' }).sseGapWaitMs, 5000, 'set explicitly');
});
