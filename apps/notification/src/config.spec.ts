import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '@orders/platform';
import { NotificationEnv } from './config';

test('the defaults work and refuse private webhook targets', () => {
  const cfg = loadConfig(NotificationEnv, {});
  assert.deepEqual(cfg.webhookSchedule, [0, 5000, 300000, 1800000, 7200000, 18000000, 36000000]);
  assert.equal(cfg.addressPolicy.allowLoopback, false);
  assert.deepEqual(cfg.addressPolicy.allowNetworks, []);
  assert.equal(cfg.tenantsByAuthorization.get('Bearer acme-key'), 'acme');
});

test('webhook settings are validated by name', () => {
  const cfg = loadConfig(NotificationEnv, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: '10.0.0.0/8,fd00::/8', NOTIFICATION_ALLOW_LOOPBACK_WEBHOOKS: 'true' });
  assert.equal(cfg.addressPolicy.allowNetworks.length, 2);
  assert.equal(cfg.addressPolicy.allowLoopback, true);
  for (const [name, value] of [
    ['WEBHOOK_ALLOW_PRIVATE_NETWORKS', '10.0.0.0/40'], ['WEBHOOK_ALLOW_PRIVATE_NETWORKS', 'intranet'],
    ['WEBHOOK_RETRY_SCHEDULE_MS', '0,5s'], ['NOTIFICATION_ALLOW_LOOPBACK_WEBHOOKS', 'yes'], ['WEBHOOK_TIMEOUT_MS', '0'],
    ['API_KEYS', 'demo'],
  ]) {
    assert.throws(() => loadConfig(NotificationEnv, { [name]: value }), (e: unknown) => e instanceof ConfigError && e.message.includes(name), `${name}=${value}`);
  }
});

test('with NODE_ENV=production it refuses to start while a secret has its development default, naming each, printing none', () => {
  const defaults = new NotificationEnv() as unknown as Record<string, string>;
  const names = ['ADMIN_TOKEN', 'API_KEYS'];
  assert.throws(
    () => loadConfig(NotificationEnv, { NODE_ENV: 'production' }),
    (e: unknown) => e instanceof ConfigError && names.every((n) => e.problems.some((p) => p.startsWith(`${n}:`)) && !e.message.includes(defaults[n])),
  );
  const real = Object.fromEntries(names.map((n) => [n, n === 'API_KEYS' ? 'shop:production-key-1234' : 'a-production-secret-of-enough-length']));
  assert.ok(loadConfig(NotificationEnv, { NODE_ENV: 'production', ...real }));
});

test('fairness, retention and rate-limit settings have working defaults and are validated by name', () => {
  const cfg = loadConfig(NotificationEnv, {}) as unknown as Record<string, unknown>;
  const defaults = {
    WEBHOOK_PER_TENANT_CONCURRENCY: 8, WEBHOOK_DELIVERIES_RETENTION_DAYS: 30, EMAILS_RETENTION_DAYS: 30,
    RETENTION_PRUNE_INTERVAL_MS: 3_600_000, RATE_LIMIT_PER_SECOND: 20, RATE_LIMIT_BURST: 100,
  };
  assert.deepEqual(Object.fromEntries(Object.keys(defaults).map((k) => [k, cfg[k]])), defaults);
  const set = loadConfig(NotificationEnv, { WEBHOOK_PER_TENANT_CONCURRENCY: '3', EMAILS_RETENTION_DAYS: '7', RATE_LIMIT_BURST: '5' }) as unknown as Record<string, unknown>;
  assert.deepEqual([set.WEBHOOK_PER_TENANT_CONCURRENCY, set.EMAILS_RETENTION_DAYS, set.RATE_LIMIT_BURST], [3, 7, 5]);
  for (const name of Object.keys(defaults)) {
    for (const value of ['0', 'soon', '1.5']) {
      assert.throws(() => loadConfig(NotificationEnv, { [name]: value }), (e: unknown) => e instanceof ConfigError && e.message.includes(name), `${name}=${value}`);
    }
  }
});
