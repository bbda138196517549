import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayLedger, OrderView } from './auditor';
import { attemptsUsedByOutages } from './diagnostics';
import { renderReport } from './report';
import { seededRandom } from './storefront';

test('a seed replays the same mix', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 5 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, seededRandom(43)));
});

test('attempts counted for an outage are found in the logs, per message, at their highest count; a message\'s own failure is not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-spec-'));
  try {
    writeFileSync(join(dir, 'order-processing.log'), [
      '\x1b[33m[Nest] 1 - 11/24/2026 WARN\x1b[39m [AmqpTransport] payment.authorize.v1 m-1 failed (attempt 1), retry in 500 ms: QueryFailedError: Connection terminated unexpectedly',
      '[Nest] 1 - WARN [AmqpTransport] payment.authorize.v1 m-1 failed (attempt 2), retry in 1000 ms: error: the database system is starting up',
      '[Nest] 1 - WARN [AmqpTransport] order.cancel-requested.v1 m-2 failed (attempt 1), retry in 500 ms: OrderError: order o-1 is not known (yet)',
      'unrelated line',
    ].join('\n'));
    const l = attemptsUsedByOutages(dir);
    assert.equal(l.checks, 3);
    assert.deepEqual(l.violations.map((v) => [v.kind, v.text.split(',')[0]]), [['order-processing: payment.authorize.v1 attempts used up by an outage', 'message m-1: 2 attempt(s) counted']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the report counts orders by outcome and summarises violations by kind', () => {
  const order = (id: string, extra: object = {}) => ({ key: `k-${id}`, tenant: 'demo', apiKey: 'demo-key', kind: 'ok' as const, items: [], email: 'a@b.c', id, attempts: 1, retried: [], ...extra });
  const text = renderReport({
    orders: [order('o1'), order('o2', { retried: ['500', '500'] }), { ...order('o3'), id: undefined }],
    views: new Map([['o1', { id: 'o1', status: 'CONFIRMED', history: [] }], ['o2', { id: 'o2', status: 'REJECTED', rejectionReason: 'out_of_stock', history: [] }]]),
    faults: [{ name: 'kill -9 inventory', at: '2026-11-24T18:00:00.000Z', durationMs: 1200, heldDownMs: 0 }],
    ledgers: [{ name: 'email', checks: 2, violations: [{ kind: 'CONFIRMED: 2 emails', orderId: 'o1', text: 'x' }, { kind: 'CONFIRMED: 2 emails', orderId: 'o2', text: 'y' }] }],
    unexpectedExits: [],
    mails: 2,
    webhookCalls: 4,
    elapsedMs: 1000,
  });
  assert.match(text, /^accepted\s+2\s*$/m);
  assert.match(text, /^never accepted\s+1\s*$/m);
  assert.match(text, /^ {2}REJECTED out_of_stock\s+1\s*$/m);
  assert.match(text, /intake retries \(same key\)\s+2 \(500×2\)/);
  assert.match(text, /^\s+2 × CONFIRMED: 2 emails$/m);
  assert.match(text, /18:00:00\s+kill -9 inventory\s+-\s+1\.2 s/);
});

test('the gateway ledger: a confirmed order needs exactly one capture and no live authorization, any other final order nothing live, an unknown order nothing but voids', () => {
  const order = (id: string) => ({ key: `k-${id}`, tenant: 'demo', apiKey: 'demo-key', kind: 'ok' as const, items: [], email: 'a@b.c', id, attempts: 1, retried: [] });
  const view = (id: string, status: string): [string, OrderView] => [id, { id, status, history: [] }];
  const views = new Map([view('c1', 'CONFIRMED'), view('c2', 'CONFIRMED'), view('r1', 'REJECTED'), view('r2', 'REJECTED'), view('p1', 'PROCESSING')]);
  const auth = (orderId: string, status: 'authorized' | 'captured' | 'voided', id = `a-${orderId}-${status}`) => ({ id, orderId, status });
  const l = gatewayLedger(['c1', 'c2', 'r1', 'r2', 'p1'].map(order), views, [
    auth('c1', 'captured'), auth('c2', 'authorized'), auth('r1', 'voided'), auth('r2', 'authorized'), auth('p1', 'authorized'), auth('x', 'voided'), auth('y', 'captured'),
  ]);
  assert.equal(l.checks, 4, 'orders not final yet are not checked');
  assert.deepEqual(l.violations.map((v) => [v.orderId, v.kind]), [
    ['c2', 'CONFIRMED without exactly one capture'],
    ['r2', 'REJECTED with live authorization'],
    ['y', 'authorization for an unknown order'],
  ]);
});
