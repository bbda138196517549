import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@orders/platform';
import { OrderProcessingEnv } from '../config';
import { TenantAdmission } from './admission';

const admission = (env: Record<string, string>) => {
  const a = new TenantAdmission(loadConfig(OrderProcessingEnv, { TENANT_MAX_IN_FLIGHT: '8', TENANT_SHARED_IN_FLIGHT: '2', TENANT_ACTIVE_WINDOW_MS: '1000', ...env }));
  let t = 0;
  a.now = () => t;
  return { a, at: (ms: number) => (t = ms) };
};

test('a tenant alone gets TENANT_MAX_IN_FLIGHT; beside another tenant in flight, TENANT_SHARED_IN_FLIGHT', () => {
  const { a } = admission({});
  assert.equal(a.roomBeside('flood', { mine: 3, others: false }), 5);
  assert.equal(a.roomBeside('flood', { mine: 1, others: true }), 1);
  assert.equal(a.roomBeside('flood', { mine: 3, others: true }), 0);
});

test('another tenant counts as active for TENANT_ACTIVE_WINDOW_MS after it placed or ended an order; the tenant itself does not', () => {
  const { a, at } = admission({});
  at(0);
  a.noteActive('quiet');
  a.noteActive('flood');
  at(900);
  assert.equal(a.roomBeside('flood', { mine: 0, others: false }), 2, 'the quiet tenant was active 900 ms ago');
  assert.equal(a.roomBeside('quiet', { mine: 0, others: false }), 2);
  at(1001);
  assert.equal(a.roomBeside('flood', { mine: 0, others: false }), 8, 'the window has passed');
  a.noteActive('flood');
  assert.equal(a.roomBeside('flood', { mine: 0, others: false }), 8, 'its own activity does not shrink its cap');
});

test('a shared cap above TENANT_MAX_IN_FLIGHT is held to it', () => {
  const { a } = admission({ TENANT_MAX_IN_FLIGHT: '2', TENANT_SHARED_IN_FLIGHT: '5' });
  assert.equal(a.roomBeside('flood', { mine: 0, others: true }), 2);
});
