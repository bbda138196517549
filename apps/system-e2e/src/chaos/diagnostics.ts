import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { SERVICE_NAMES } from '../system';
import { Ledger, OrderView } from './auditor';

type Violations = Ledger['violations'];

/** Runs `fn` on a connection of its own to the platform's database (reads only: a test's privilege), closed after. */
async function reading<T>(databaseUrl: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The ids of the orders the ledger's violations name. */
const orderIdsOf = (ledger: Ledger): string[] => ledger.violations.map((v) => v.orderId).filter((x): x is string => !!x);

/**
 * For a stock violation, which orders: read (never written) from inventory's
 * own table, a test's privilege: reservations committed for an order that did
 * not end CONFIRMED, or still held by a final one.
 */
export async function reservationDiagnostics(databaseUrl: string, views: Map<string, OrderView>): Promise<Violations> {
  const rows = await reading(databaseUrl, async (c) => (await c.query<{ order_id: string; status: string; lines: Array<{ sku: string; quantity: number }> }>('SELECT order_id, status, lines FROM inventory.reservations')).rows);
  const out: Violations = [];
  for (const r of rows) {
    const v = views.get(r.order_id);
    const st = v?.status ?? 'UNKNOWN';
    const lines = r.lines.map((l) => `${l.quantity}×${l.sku}`).join(' ');
    if (r.status === 'committed' && st !== 'CONFIRMED') out.push({ kind: `stock committed for a ${st} order`, orderId: r.order_id, text: `reservation committed (${lines}) but the order ended ${st}${v?.rejectionReason ? ` (${v.rejectionReason})` : ''}, history ${v?.history.map((h) => h.status).join('>') ?? '?'}` });
    if (r.status === 'reserved') out.push({ kind: `stock still reserved for a ${st} order`, orderId: r.order_id, text: `reservation still held (${lines}), order ${st}` });
  }
  return out;
}

const INFRA_ERROR = /ECONNREFUSED|ECONNRESET|Connection terminated|database system is|terminating connection|connection (is )?closed|Channel closed|Connection closed|timeout exceeded when trying to connect/i;
const ATTEMPT = /(\S+\.v\d+) (\S+) failed \(attempt (\d+)\)[^:]*: (.*)$/;

/** "Only a message's own failure uses up its attempts": failed attempts whose error was an outage, from the services' logs. */
export function attemptsUsedByOutages(logDir: string): Ledger {
  let checks = 0;
  const worst = new Map<string, { service: string; name: string; attempt: number; error: string }>();
  for (const service of SERVICE_NAMES) {
    let text = '';
    try {
      text = readFileSync(join(logDir, `${service}.log`), 'utf8');
    } catch {
      continue;
    }
    for (const raw of text.split('\n')) {
      const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
      const m = ATTEMPT.exec(line);
      if (!m) continue;
      checks++;
      if (!INFRA_ERROR.test(m[4])) continue;
      const attempt = Number(m[3]);
      const key = `${service} ${m[2]}`;
      if ((worst.get(key)?.attempt ?? 0) < attempt) worst.set(key, { service, name: m[1], attempt, error: m[4].slice(0, 120) });
    }
  }
  const violations = [...worst].map(([key, w]) => ({
    kind: `${w.service}: ${w.name} attempts used up by an outage`,
    text: `message ${key.split(' ')[1]}: ${w.attempt} attempt(s) counted, last: ${w.error}`,
  }));
  return { name: 'attempts vs outages', checks, violations };
}

/** For orders that are not final in the read model: where order-processing's own table has them (read only). */
export async function annotateWithProcessing(databaseUrl: string, ledger: Ledger): Promise<void> {
  const ids = orderIdsOf(ledger);
  if (!ids.length) return;
  const rows = await reading(databaseUrl, async (c) => (await c.query<{ id: string; status: string; sequence: number; reason: string | null }>('SELECT id, status, sequence, reason FROM processing.orders WHERE id = ANY($1::uuid[])', [ids])).rows);
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const v of ledger.violations) {
    if (!v.orderId) continue;
    const r = byId.get(v.orderId);
    v.text += r ? `; order-processing has it ${r.status} #${r.sequence}${r.reason ? ` (${r.reason})` : ''}` : '; unknown to order-processing';
  }
}

/** For gateway violations: the order's capture and void jobs in order-processing's own table (read only). */
export async function annotateWithSettlements(databaseUrl: string, ledger: Ledger): Promise<void> {
  const ids = orderIdsOf(ledger);
  if (!ids.length) return;
  const rows = await reading(databaseUrl, async (c) => (
    await c.query<{ order_id: string; action: string; state: string; attempts: number; last_error: string | null; next_in_s: number; age_s: number }>(
      `SELECT order_id, action, state, attempts, last_error, extract(epoch FROM next_attempt_at - now())::int AS next_in_s, extract(epoch FROM now() - created_at)::int AS age_s
         FROM processing.payment_jobs WHERE order_id = ANY($1::uuid[])`,
      [ids],
    )
  ).rows);
  for (const v of ledger.violations) {
    if (!v.orderId) continue;
    const jobs = rows.filter((r) => r.order_id === v.orderId);
    v.text += jobs.length
      ? `; jobs: ${jobs.map((j) => `${j.action} ${j.state} after ${j.attempts} attempt(s), written ${j.age_s} s ago${j.state === 'pending' ? `, next in ${j.next_in_s} s` : ''}${j.last_error ? ` (last: ${j.last_error.slice(0, 120)})` : ''}`).join('; ')}`
      : '; no capture or void job';
  }
}
