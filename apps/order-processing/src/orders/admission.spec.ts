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

test('while shared a tenant starts at most TENANT_SHARED_STARTS_PER_SECOND, and a timer starts its waiting orders when a token is due', async () => {
  const { a, at } = admission({ TENANT_SHARED_STARTS_PER_SECOND: '50' });
  const timers: Array<{ fn: () => void; ms: number }> = [];
  a.schedule = (fn, ms) => (timers.push({ fn, ms }), { cancel: () => undefined });
  const woken: string[] = [];
  a.onWake(async (t) => void woken.push(t));
  at(0);
  const shared = { mine: 0, others: true };
  assert.equal(a.roomBeside('flood', shared), 2, 'a burst of TENANT_SHARED_IN_FLIGHT');
  a.started('flood');
  a.started('flood');
  assert.equal(a.roomBeside('flood', shared), 0, 'room in flight, but no token');
  assert.equal(a.roomBeside('flood', shared), 0);
  assert.deepEqual(timers.map((t) => t.ms), [20], 'one timer for the tenant, due with its next token (1/50 s)');
  at(20);
  timers[0].fn();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(woken, ['flood']);
  assert.equal(a.roomBeside('flood', shared), 1);
  assert.equal(a.roomBeside('quiet', shared), 2, 'another tenant has its own budget');
});

test('a tenant alone is never held back by the budget, nor with TENANT_SHARED_STARTS_PER_SECOND=0', () => {
  const { a, at } = admission({ TENANT_SHARED_STARTS_PER_SECOND: '50' });
  at(0);
  for (let i = 0; i < 100; i++) a.started('flood');
  assert.equal(a.roomBeside('flood', { mine: 0, others: false }), 8);
  const off = admission({ TENANT_SHARED_STARTS_PER_SECOND: '0' });
  for (let i = 0; i < 100; i++) off.a.started('flood');
  assert.equal(off.a.roomBeside('flood', { mine: 0, others: true }), 2);
});

test('out of tokens while another tenant is active, limits() answers 0 (no statement to send) and arms the wake', () => {
  const { a, at } = admission({ TENANT_SHARED_STARTS_PER_SECOND: '50' });
  const timers: number[] = [];
  a.schedule = (_fn, ms) => (timers.push(ms), { cancel: () => undefined });
  a.onWake(async () => undefined);
  at(0);
  assert.deepEqual(a.limits('flood'), { cap: 8, sharedCap: 2, tokens: 2, sharedByActivity: false });
  a.noteActive('quiet');
  a.started('flood');
  assert.deepEqual(a.limits('flood'), { cap: 8, sharedCap: 2, tokens: 1, sharedByActivity: true });
  a.started('flood');
  assert.equal(a.limits('flood'), 0);
  assert.deepEqual(timers, [20]);
});

test("while the quiet lane's orders take over twice as long beside a flood as alone, the flood's budget refills more slowly", () => {
  const { a, at } = admission({ TENANT_SHARED_STARTS_PER_SECOND: '50', TENANT_SHARED_STARTS_MIN_PER_SECOND: '10' });
  const timers: number[] = [];
  a.schedule = (_fn, ms) => (timers.push(ms), { cancel: () => undefined });
  a.onWake(async () => undefined);
  // alone, a quiet order takes 30 ms from placement to its end: the baseline
  at(1000);
  a.ran({ tenantId: 'quiet', lane: 'quiet', placedAt: new Date(970) });
  // beside the flood (active), three of them take 200 ms: the rate falls to 50 × 0.8³ = 25.6 a second
  a.noteActive('flood');
  for (const t of [2000, 3000, 4000]) {
    at(t);
    a.noteActive('flood');
    a.ran({ tenantId: 'quiet', lane: 'quiet', placedAt: new Date(t - 200) });
  }
  assert.equal(Math.round(a.sharedRate.rate * 10) / 10, 25.6);
  // the flood's own (bulk) orders tell nothing
  a.ran({ tenantId: 'flood', lane: 'bulk', placedAt: new Date(0) });
  assert.equal(Math.round(a.sharedRate.rate * 10) / 10, 25.6);
  a.noteActive('quiet');
  a.started('flood');
  a.started('flood');
  assert.equal(a.roomBeside('flood', { mine: 0, others: true }), 0);
  assert.deepEqual(timers, [40], 'its next token is due in 1/25.6 s, not 1/50');
});
