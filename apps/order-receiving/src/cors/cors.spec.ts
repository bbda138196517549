import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '@orders/platform';
import { OrderReceivingEnv } from '../config';
import { parseCorsOrigins } from './cors';

test('CORS_ORIGINS: none by default; comma-separated origins accepted', () => {
  assert.deepEqual([...parseCorsOrigins(loadConfig(OrderReceivingEnv, {}).CORS_ORIGINS)], []);
  const cfg = loadConfig(OrderReceivingEnv, { CORS_ORIGINS: 'https://shop.example,http://127.0.0.1:8080' });
  assert.deepEqual([...parseCorsOrigins(cfg.CORS_ORIGINS)], ['https://shop.example', 'http://127.0.0.1:8080']);
});

test('CORS_ORIGINS that are not origins stop start-up naming the variable', () => {
  for (const bad of ['*', 'shop.example', 'https://shop.example/path', 'https://a.example, https://b.example', 'ftp://shop.example']) {
    assert.throws(() => loadConfig(OrderReceivingEnv, { CORS_ORIGINS: bad }), (e: unknown) => e instanceof ConfigError && e.message.includes('CORS_ORIGINS'), bad);
  }
});
