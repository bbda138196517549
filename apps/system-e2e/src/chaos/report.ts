import { isFinalStatus } from '@orders/contracts';
import { Ledger, OrderView } from './auditor';
import { FaultRecord } from './faults';
import { PlacedOrder } from './storefront';

const row = (cells: Array<string | number>, widths: number[]) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');

function table(title: string, head: string[], rows: Array<Array<string | number>>): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [``, title, row(head, widths), line, ...rows.map((r) => row(r, widths))].join('\n');
}

export interface RunFigures {
  orders: PlacedOrder[];
  views: Map<string, OrderView>;
  faults: FaultRecord[];
  ledgers: Ledger[];
  unexpectedExits: string[];
  mails: number;
  webhookCalls: number;
  elapsedMs: number;
}

/** The figures of a run as plain-text tables. */
export function renderReport(f: RunFigures, maxViolationsShown = 40): string {
  const out: string[] = [];
  const accepted = f.orders.filter((o) => o.id);
  const byStatus = new Map<string, number>();
  for (const o of accepted) {
    const st = f.views.get(o.id!)?.status ?? 'UNKNOWN';
    byStatus.set(st, (byStatus.get(st) ?? 0) + 1);
  }
  const retries = f.orders.reduce((n, o) => n + o.retried.length, 0);
  const answers = new Map<string, number>();
  for (const o of f.orders) for (const a of o.retried) answers.set(a, (answers.get(a) ?? 0) + 1);
  const cancels = f.orders.filter((o) => o.cancel && o.id);
  const cancelOutcome = (k: string) => cancels.filter((o) => o.cancel!.outcome === k).length;
  const reasons = new Map<string, number>();
  for (const o of accepted) {
    const v = f.views.get(o.id!);
    if (v && isFinalStatus(v.status) && v.status !== 'CONFIRMED') {
      const k = `${v.status}${v.rejectionReason ? ` ${v.rejectionReason}` : ''}`;
      reasons.set(k, (reasons.get(k) ?? 0) + 1);
    }
  }
  out.push(
    table('ORDERS', ['figure', 'count'], [
      ['placed', f.orders.length],
      ['accepted', accepted.length],
      ['never accepted', f.orders.length - accepted.length],
      ...['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED', 'PENDING', 'PROCESSING', 'UNKNOWN'].map((s) => [s.toLowerCase(), byStatus.get(s) ?? 0] as [string, number]),
      ...[...reasons].sort().map(([k, n]) => [`  ${k}`, n] as [string, number]),
      ['intake retries (same key)', `${retries} (${[...answers].map(([a, n]) => `${a}×${n}`).join(' ') || '-'})`],
      ['cancels sent', cancels.length],
      ['  accepted (202)', cancelOutcome('accepted')],
      ['  already final (409)', cancelOutcome('final')],
      ['  gave up', cancelOutcome('gave-up') + cancels.filter((o) => !o.cancel!.outcome).length],
      ['emails caught', f.mails],
      ['webhook requests received', f.webhookCalls],
      ['service exits not caused by the suite', f.unexpectedExits.length ? f.unexpectedExits.join('; ') : 0],
      ['run time', `${Math.round(f.elapsedMs / 1000)} s`],
    ]),
  );
  out.push(
    table('FAULTS', ['at (UTC)', 'fault', 'held down', 'until all ready', 'error'], f.faults.map((x) => [x.at.slice(11, 19), x.name, x.heldDownMs ? `${x.heldDownMs / 1000} s` : '-', `${(x.durationMs / 1000).toFixed(1)} s`, x.error ?? ''])),
  );
  out.push(table('LEDGERS', ['ledger', 'checks', 'violations'], f.ledgers.map((l) => [l.name, l.checks, l.violations.length])));
  for (const l of f.ledgers.filter((x) => x.notes?.length)) out.push(`${l.name}: ${l.notes!.length} note(s), not violations\n${l.notes!.map((n) => `  ${n}`).join('\n')}\n`);
  for (const l of f.ledgers.filter((x) => x.violations.length)) {
    out.push('', `${l.name}: ${l.violations.length} violation(s)`);
    const kinds = new Map<string, number>();
    for (const v of l.violations) kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + 1);
    for (const [k, n] of [...kinds].sort((a, b) => b[1] - a[1])) out.push(`  ${String(n).padStart(4)} × ${k}`);
    for (const v of l.violations.slice(0, maxViolationsShown)) out.push(`  ${v.orderId ? `${v.orderId} ` : ''}${v.text}`);
    if (l.violations.length > maxViolationsShown) out.push(`  … ${l.violations.length - maxViolationsShown} more (see the violations file)`);
  }
  return out.join('\n');
}
