// The operators' side (deploy/): the Grafana dashboard parses, is provisioned,
// and every PromQL expression in it and in the alert rules names metrics that
// the services really expose (or Prometheus itself: up), and the metrics
// DESIGN.md's "Operating it" promises are all defined in the code.
// promtool checks the Prometheus files themselves (tools/test-all.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Metric names registered with prom-client in production code: `name: '...'` in libs and apps. */
function definedMetrics() {
  const names = new Set(['up']);
  for (const base of ['libs', 'apps']) {
    for (const project of readdirSync(join(root, base))) {
      let files = [];
      try {
        files = readdirSync(join(root, base, project, 'src'), { recursive: true }).map(String);
      } catch {
        continue;
      }
      for (const f of files.filter((f) => f.endsWith('.ts') && !/\.(int-|e2e-)?spec\.ts$/.test(f))) {
        const text = readFileSync(join(root, base, project, 'src', f), 'utf8');
        for (const m of text.matchAll(/new (?:Counter|Gauge|Histogram|Summary)\(\{\s*name: '([a-z_:][a-z0-9_:]*)'/g)) names.add(m[1]);
      }
    }
  }
  return names;
}

const KEYWORDS = new Set(['by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** Metric names an expression reads (label matchers, grouping labels, strings, durations and functions left out). */
export function metricsOf(expr) {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out = new Set();
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1].toLowerCase())) continue;
    out.add(m[1]);
  }
  return out;
}

function assertKnown(where, expr, known) {
  for (const name of metricsOf(expr)) {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(known.has(name) || known.has(base), `${where}: ${name} in "${expr}" is not a metric any service exposes`);
  }
}

test('the expression parser finds metric names and nothing else', () => {
  assert.deepEqual(
    [...metricsOf('histogram_quantile(0.99, sum by (queue, le) (rate(orders_message_wait_seconds_bucket{status!="x"}[5m]))) > 60 and on (queue) up == 0')],
    ['orders_message_wait_seconds_bucket', 'up'],
  );
});

test('the Grafana dashboard parses, and every panel query names an existing metric', () => {
  const known = definedMetrics();
  const dir = join(root, 'deploy/grafana/dashboards');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length > 0, 'a dashboard is provisioned');
  for (const f of files) {
    const d = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    assert.ok(d.uid && d.title && Array.isArray(d.panels) && d.panels.length > 0, `${f}: a dashboard with panels`);
    const exprs = d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
    assert.ok(exprs.length >= d.panels.length, `${f}: every panel has a query`);
    for (const { title, expr } of exprs) {
      assert.equal(typeof expr, 'string', `${f} / ${title}: a PromQL expression`);
      assertKnown(`${f} / ${title}`, expr, known);
    }
    const used = new Set(exprs.flatMap(({ expr }) => [...metricsOf(expr)].map((n) => n.replace(/_(bucket|sum|count)$/, ''))));
    for (const m of ['orders_accepted_total', 'orders_queue_messages', 'orders_tenant_waiting', 'orders_message_wait_seconds', 'orders_dead_letter_messages', 'orders_outbox_oldest_seconds', 'orders_accept_to_final_seconds', 'payment_gateway_breaker_open']) {
      assert.ok(used.has(m), `${f}: shows ${m}`);
    }
  }
});

test('every alert rule expression names an existing metric', () => {
  const known = definedMetrics();
  const text = readFileSync(join(root, 'deploy/prometheus/alerts.yml'), 'utf8');
  const exprs = [...text.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]);
  assert.ok(exprs.length >= 9, 'the alert rules are there');
  for (const expr of exprs) assertKnown('alerts.yml', expr, known);
});

test('the metrics promised to operators are all defined', () => {
  const known = definedMetrics();
  for (const m of [
    'orders_queue_messages', 'orders_queue_consumers', 'orders_dead_letter_messages', 'orders_message_wait_seconds',
    'orders_outbox_pending', 'orders_outbox_oldest_seconds', 'orders_accept_to_final_seconds', 'orders_stuck',
    'orders_tenant_waiting', 'payment_gateway_breaker_open',
  ]) {
    assert.ok(known.has(m), `${m} is defined`);
  }
});
