import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Length } from 'class-validator';
import { IsApiKeys } from './api-keys';
import { BaseEnv, ConfigError, loadConfig, Secret, secretNames } from './config';

class SecretEnv extends BaseEnv {
  @IsApiKeys() @Secret()
  API_KEYS: string = 'demo:demo-key';

  @Length(16, 64) @Secret()
  TOKEN_SECRET: string = 'dev-token-secret-change-me';
}

const problem = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  return assert.fail('expected a ConfigError');
};

test('a bad value is reported by name and rule, never by value', () => {
  const leaked = 'tenant-a:very-secret-key-1,tenant-b:other-secret-key-2,broken';
  const e = problem(() => loadConfig(SecretEnv, { API_KEYS: leaked, DATABASE_URL: 'postgres://user:pa55word@db/x y', PORT: '99999' }));
  for (const name of ['API_KEYS', 'DATABASE_URL', 'PORT']) assert.ok(e.message.includes(name), name);
  for (const secret of ['very-secret-key-1', 'other-secret-key-2', 'broken', 'pa55word', '99999']) assert.ok(!e.message.includes(secret), `leaks ${secret}: ${e.message}`);
});

test('in production, every secret still at its development default is refused, named, all at once', () => {
  assert.deepEqual(secretNames(SecretEnv), ['ADMIN_TOKEN', 'API_KEYS', 'TOKEN_SECRET'], "BaseEnv's own secret too");
  const e = problem(() => loadConfig(SecretEnv, { NODE_ENV: 'production' }));
  assert.deepEqual(e.problems.map((p) => p.split(':')[0]), ['ADMIN_TOKEN', 'API_KEYS', 'TOKEN_SECRET']);
  assert.ok(!e.message.includes('demo-key') && !e.message.includes('dev-token-secret') && !e.message.includes('dev-admin-token'), e.message);
  const admin = { ADMIN_TOKEN: 'a-real-admin-token' };
  const one = problem(() => loadConfig(SecretEnv, { NODE_ENV: 'production', API_KEYS: 'shop:a-real-production-key', ...admin }));
  assert.deepEqual(one.problems.map((p) => p.split(':')[0]), ['TOKEN_SECRET']);
  assert.ok(loadConfig(SecretEnv, { NODE_ENV: 'production', API_KEYS: 'shop:a-real-production-key', TOKEN_SECRET: 'a-real-production-secret', ...admin }));
  assert.ok(loadConfig(SecretEnv, {}), 'development defaults work outside production');
});

test('GET /metrics needs the admin token and is cached by default in production only; the variables set explicitly win either way', () => {
  const prod = { NODE_ENV: 'production', API_KEYS: 'shop:a-real-production-key', TOKEN_SECRET: 'a-real-production-secret', ADMIN_TOKEN: 'a-real-admin-token' };
  assert.equal(loadConfig(SecretEnv, {}).METRICS_REQUIRE_TOKEN, false, 'open in development');
  assert.equal(loadConfig(SecretEnv, prod).METRICS_REQUIRE_TOKEN, true, 'token required in production');
  assert.equal(loadConfig(SecretEnv, { ...prod, METRICS_REQUIRE_TOKEN: 'false' }).METRICS_REQUIRE_TOKEN, false);
  assert.equal(loadConfig(SecretEnv, { METRICS_REQUIRE_TOKEN: 'true' }).METRICS_REQUIRE_TOKEN, true);
  assert.equal(new SecretEnv().METRICS_REQUIRE_TOKEN, false, 'the production default does not leak into the development one');
  assert.equal(loadConfig(SecretEnv, prod).METRICS_CACHE_MS, 5000, 'one collection per 5 s in production');
  assert.equal(loadConfig(SecretEnv, {}).METRICS_CACHE_MS, 0, 'current numbers in development');
  assert.equal(loadConfig(SecretEnv, { ...prod, METRICS_CACHE_MS: '0' }).METRICS_CACHE_MS, 0);
  for (const [name, value] of [['METRICS_REQUIRE_TOKEN', 'yes'], ['METRICS_CACHE_MS', '-1']]) {
    assert.ok(problem(() => loadConfig(SecretEnv, { [name]: value })).problems.some((p) => p.startsWith(`${name}:`)), `${name}=${value}`);
  }
});
