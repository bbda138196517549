import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '@orders/platform';
import { OrderProcessingEnv } from './config';

test('every variable has a working development default', () => {
  const cfg = loadConfig(OrderProcessingEnv, {});
  assert.equal(cfg.PORT, 3003);
  assert.equal(cfg.DB_SCHEMA, 'processing');
  assert.equal(cfg.ADMIN_TOKEN, 'dev-admin-token');
  assert.equal(cfg.PAYMENT_GATEWAY_URL, 'http://127.0.0.1:4000');
  assert.ok(cfg.SAGA_CONCURRENCY >= 1 && cfg.PAYMENT_CONCURRENCY >= 1 && cfg.TENANT_MAX_IN_FLIGHT >= 1);
});

test('values come from the environment, typed', () => {
  const cfg = loadConfig(OrderProcessingEnv, { PAYMENT_TIMEOUT_MS: '750', PAYMENT_RETRIES: '0', SAGA_CONCURRENCY: '4' });
  assert.equal(cfg.PAYMENT_TIMEOUT_MS, 750);
  assert.equal(cfg.PAYMENT_RETRIES, 0);
  assert.equal(cfg.SAGA_CONCURRENCY, 4);
});

test('a bad variable stops start-up with its name', () => {
  assert.throws(
    () => loadConfig(OrderProcessingEnv, { PAYMENT_TIMEOUT_MS: 'soon', PAYMENT_GATEWAY_URL: 'gateway:4000' }),
    (e: unknown) => e instanceof ConfigError && /PAYMENT_TIMEOUT_MS/.test(e.message) && /PAYMENT_GATEWAY_URL/.test(e.message),
  );
  assert.throws(() => loadConfig(OrderProcessingEnv, { BREAKER_ERROR_THRESHOLD_PERCENT: '150' }), /BREAKER_ERROR_THRESHOLD_PERCENT/);
});

test('the payment wait: growing delays, capped, within a budget', () => {
  const cfg = loadConfig(OrderProcessingEnv, {});
  assert.deepEqual(cfg.paymentWaitDelaysMs, [1000, 2000, 5000, 10000, 20000, 30000]);
  assert.equal(cfg.PAYMENT_MAX_WAIT_MS, 600000);
  assert.deepEqual(loadConfig(OrderProcessingEnv, { PAYMENT_WAIT_DELAYS_MS: '250,500' }).paymentWaitDelaysMs, [250, 500]);
  assert.throws(() => loadConfig(OrderProcessingEnv, { PAYMENT_WAIT_DELAYS_MS: '1s,2s' }), /PAYMENT_WAIT_DELAYS_MS/);
  assert.throws(() => loadConfig(OrderProcessingEnv, { PAYMENT_MAX_WAIT_MS: '-1' }), /PAYMENT_MAX_WAIT_MS/);
});

test('with NODE_ENV=production it refuses to start while a secret has its development default, naming each, printing none', () => {
  const defaults = new OrderProcessingEnv() as unknown as Record<string, string>;
  const names = ['ADMIN_TOKEN'];
  assert.throws(
    () => loadConfig(OrderProcessingEnv, { NODE_ENV: 'production' }),
    (e: unknown) => e instanceof ConfigError && names.every((n) => e.problems.some((p) => p.startsWith(`${n}:`)) && !e.message.includes(defaults[n])),
  );
  const real = Object.fromEntries(names.map((n) => [n, n === 'API_KEYS' ? 'shop:production-key-1234' : 'a-production-secret-of-enough-length']));
  assert.ok(loadConfig(OrderProcessingEnv, { NODE_ENV: 'production', ...real }));
});
