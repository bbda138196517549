import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '@orders/platform';
import { InventoryEnv } from './config';

test('with NODE_ENV=production it refuses to start while a secret has its development default, naming each, printing none', () => {
  const defaults = new InventoryEnv() as unknown as Record<string, string>;
  const names = ['ADMIN_TOKEN'];
  assert.throws(
    () => loadConfig(InventoryEnv, { NODE_ENV: 'production' }),
    (e: unknown) => e instanceof ConfigError && names.every((n) => e.problems.some((p) => p.startsWith(`${n}:`)) && !e.message.includes(defaults[n])),
  );
  const real = Object.fromEntries(names.map((n) => [n, n === 'API_KEYS' ? 'shop:production-key-1234' : 'a-production-secret-of-enough-length']));
  assert.ok(loadConfig(InventoryEnv, { NODE_ENV: 'production', ...real }));
});
