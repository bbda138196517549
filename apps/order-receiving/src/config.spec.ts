import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '@orders/platform';
import { OrderReceivingEnv } from './config';

test('defaults work for development: port 3000, schema receiving, the demo and acme keys', () => {
  const cfg = loadConfig(OrderReceivingEnv, {});
  assert.equal(cfg.PORT, 3000);
  assert.equal(cfg.DB_SCHEMA, 'receiving');
  assert.equal(cfg.IDEMPOTENCY_TTL_HOURS, 48);
  assert.deepEqual([...cfg.tenantsByAuthorization], [['Bearer demo-key', 'demo'], ['Bearer acme-key', 'acme']]);
});

test('bad values stop start-up naming the variable', () => {
  for (const [name, value] of [['API_KEYS', 'demo'], ['API_KEYS', 'demo:short'], ['IDEMPOTENCY_TTL_HOURS', '12'], ['RATE_LIMIT_PER_SECOND', '0'], ['EVENTS_TOKEN_SECRET', 'short']]) {
    assert.throws(() => loadConfig(OrderReceivingEnv, { [name]: value }), (e: unknown) => e instanceof ConfigError && e.message.includes(name), `${name}=${value}`);
  }
});
