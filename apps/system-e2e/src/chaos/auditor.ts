import * as amqp from 'amqplib';
import { isFinalStatus, QUEUES } from '@orders/contracts';
import { ADMIN_TOKEN, System } from '../system';
import { CaughtMail, WebhookCall } from './observers';
import { PlacedOrder } from './storefront';

export interface Ledger {
  name: string;
  checks: number;
  /** `kind`: the violation's category, for the summary. */
  violations: Array<{ kind: string; orderId?: string; text: string }>;
  /** Figures worth printing that are not violations. */
  notes?: string[];
}

export interface OrderView {
  id: string;
  status: string;
  rejectionReason?: string;
  history: Array<{ status: string; at: string; reason?: string }>;
}

export interface Authorization {
  id: string;
  orderId: string;
  status: 'authorized' | 'captured' | 'voided';
}

export interface DeadLetter {
  queue: string;
  /** The message's name (its original routing key). */
  routingKey: string;
  messageId: string;
  attempts: string;
  lastError: string;
  snippet: string;
}

export interface AuditInput {
  sys: System;
  orders: PlacedOrder[];
  views: Map<string, OrderView>;
  initialStock: Map<string, number>;
  mails: CaughtMail[];
  webhooks: WebhookCall[];
  rabbitUrl: string;
  poisonBody: string;
  /** Diagnostic for a stock violation: the orders whose reservation disagrees with their final state. */
  reservations: () => Promise<Ledger['violations']>;
}

const ledger = (name: string): Ledger => ({ name, checks: 0, violations: [] });

/** Reads an order as its tenant (order-receiving's read model). */
export async function readOrder(sys: System, o: PlacedOrder): Promise<OrderView | undefined> {
  const res = await fetch(`${sys.url('order-receiving')}/orders/${o.id}`, { headers: { authorization: `Bearer ${o.apiKey}` }, signal: AbortSignal.timeout(10000) });
  return res.status === 200 ? ((await res.json()) as OrderView) : undefined;
}

/** Every message in the dead-letter queues under this prefix (read, then put back by closing the channel unacknowledged). */
export async function deadLetters(prefix: string, rabbitUrl: string): Promise<DeadLetter[]> {
  const conn = await amqp.connect(rabbitUrl);
  const out: DeadLetter[] = [];
  try {
    const ch = await conn.createChannel();
    for (const q of Object.keys(QUEUES)) {
      const queue = `${prefix}.${q}.dlq`;
      for (;;) {
        const m = await ch.get(queue, { noAck: false });
        if (!m) break;
        const text = m.content.toString('utf8');
        const h = (m.properties.headers ?? {}) as Record<string, unknown>;
        out.push({
          queue: q,
          routingKey: String(h['x-original-routing-key'] ?? m.fields.routingKey),
          messageId: String(m.properties.messageId ?? ''),
          attempts: String(h['x-attempts'] ?? '?'),
          lastError: String(h['x-last-error'] ?? '').slice(0, 160),
          snippet: text.slice(0, 400),
        });
      }
    }
    await ch.close();
  } finally {
    await conn.close().catch(() => undefined);
  }
  return out;
}

/** The gateway simulator's authorizations, all orders. */
export async function authorizations(sys: System): Promise<Authorization[]> {
  const res = await fetch(`${sys.url('payment-gateway-sim')}/authorizations`, { signal: AbortSignal.timeout(10000) });
  return ((await res.json()) as { items: Authorization[] }).items;
}

/** One capture per confirmed order, no live authorization for any other final order or for an order never accepted. */
export function gatewayLedger(accepted: PlacedOrder[], views: Map<string, OrderView>, auths: Authorization[]): Ledger {
  const gateway = ledger('gateway');
  const byOrder = new Map<string, Authorization[]>();
  for (const a of auths) byOrder.set(a.orderId, [...(byOrder.get(a.orderId) ?? []), a]);
  for (const o of accepted) {
    const st = views.get(o.id!)?.status ?? 'UNKNOWN';
    if (!isFinalStatus(st)) continue;
    gateway.checks++;
    const mine = byOrder.get(o.id!) ?? [];
    const captured = mine.filter((a) => a.status === 'captured').length;
    const authorized = mine.filter((a) => a.status === 'authorized').length;
    const summary = mine.map((a) => a.status).join(',') || 'none';
    if (st === 'CONFIRMED' && (captured !== 1 || authorized !== 0)) gateway.violations.push({ kind: `CONFIRMED without exactly one capture`, orderId: o.id, text: `CONFIRMED with authorizations [${summary}], want exactly one captured` });
    if (st !== 'CONFIRMED' && captured + authorized > 0) gateway.violations.push({ kind: `${st}${reasonOf(views.get(o.id!))} with live authorization`, orderId: o.id, text: `${st}${reasonOf(views.get(o.id!))} with live authorizations [${summary}]` });
  }
  const known = new Set(accepted.map((o) => o.id));
  for (const a of auths) if (!known.has(a.orderId) && a.status !== 'voided') gateway.violations.push({ kind: 'authorization for an unknown order', orderId: a.orderId, text: `authorization ${a.id} (${a.status}) for an order the storefront never got accepted` });
  return gateway;
}

export async function audit(i: AuditInput): Promise<{ ledgers: Ledger[]; deadLetters: DeadLetter[] }> {
  const accepted = i.orders.filter((o) => o.id);
  const statusOf = (o: PlacedOrder) => i.views.get(o.id!)?.status ?? 'UNKNOWN';

  // 0. intake: while the database is unreachable, 503 with Retry-After (never 500)
  const intake = ledger('intake answers');
  for (const o of i.orders) {
    intake.checks++;
    const bad = o.retried.filter((a) => a === '500' || a.includes('without Retry-After'));
    if (bad.length) intake.violations.push({ kind: `answered ${[...new Set(bad)].join(' / ')} (want 503 with Retry-After)`, orderId: o.id, text: `${bad.length} such answers to key ${o.key}` });
  }

  // 1. every accepted order final (and every order accepted)
  const final = ledger('every order final');
  for (const o of i.orders) {
    final.checks++;
    if (!o.id) final.violations.push({ kind: 'never accepted', text: `order with key ${o.key} never accepted${o.refused ? `: ${o.refused}` : ''} (answers: ${o.retried.slice(-5).join(',')})` });
    else if (!isFinalStatus(statusOf(o))) {
      const v = i.views.get(o.id);
      final.violations.push({ kind: `stuck ${statusOf(o)}`, orderId: o.id, text: `still ${statusOf(o)} (history ${v?.history.map((h) => h.status).join('>') ?? '?'})` });
    }
  }

  // 2. stock moved = confirmed quantities; nothing reserved
  const stock = ledger('stock');
  const confirmedQty = new Map<string, number>();
  for (const o of accepted) if (statusOf(o) === 'CONFIRMED') for (const l of o.items) confirmedQty.set(l.sku, (confirmedQty.get(l.sku) ?? 0) + l.quantity);
  for (const [sku, initial] of i.initialStock) {
    const res = await fetch(`${i.sys.url('inventory')}/products/${sku}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const p = (await res.json()) as { stock: number; reserved: number };
    stock.checks += 2;
    const moved = initial - p.stock;
    const want = confirmedQty.get(sku) ?? 0;
    if (moved !== want) stock.violations.push({ kind: 'stock moved != confirmed', text: `${sku}: stock moved ${moved}, confirmed quantities ${want} (initial ${initial}, now ${p.stock})` });
    if (p.reserved !== 0) stock.violations.push({ kind: 'left reserved', text: `${sku}: ${p.reserved} still reserved` });
  }
  if (stock.violations.length) stock.violations.push(...(await i.reservations().catch((e: Error) => [{ kind: 'diagnostic unavailable', text: e.message }])));

  // 3. gateway: one capture per confirmed order, nothing live for any other
  const gateway = gatewayLedger(accepted, i.views, await authorizations(i.sys));

  // 4. email: exactly one per (order, final state), none for other states
  const email = ledger('email');
  const mailsByOrder = new Map<string, CaughtMail[]>();
  for (const m of i.mails) {
    const orderId = m.messageId.split('.')[0];
    mailsByOrder.set(orderId, [...(mailsByOrder.get(orderId) ?? []), m]);
  }
  for (const o of accepted) {
    const st = statusOf(o);
    email.checks++;
    const mine = mailsByOrder.get(o.id!) ?? [];
    const want = `${o.id}.${st}@orders.local`;
    const right = mine.filter((m) => m.messageId === want).length;
    const wrong = mine.filter((m) => m.messageId !== want).map((m) => m.messageId.split('@')[0].split('.')[1]);
    const times = mine.filter((m) => m.messageId === want).map((m) => m.created.slice(11, 23)).join(', ');
    if (isFinalStatus(st) && right > 1) {
      // The same email (one Message-ID) delivered again: a process killed, or the database lost, between the SMTP server
      // accepting it and notification recording that. SMTP cannot be made idempotent; mail clients show one message per
      // Message-ID. Counted, not a violation; a second distinct email would be (the checks below).
      (email.notes ??= []).push(`${o.id} ${st}: ${right} deliveries of its one email (same Message-ID; caught at ${times} UTC)`);
    } else if (isFinalStatus(st) && right !== 1) email.violations.push({ kind: `${st}: ${right} emails for the final state`, orderId: o.id, text: `${st}${reasonOf(i.views.get(o.id!))}: ${right} emails for the final state${right ? ` (caught at ${times} UTC)` : ''}` });
    if (wrong.length) email.violations.push({ kind: `${st}: email for another state`, orderId: o.id, text: `${st}: emails for other states [${wrong.join(',')}]` });
    if (right && mine.some((m) => m.to !== o.email)) email.violations.push({ kind: 'wrong address', orderId: o.id, text: `email sent to the wrong address` });
  }

  // 5. webhooks: one delivery id per status event, none missing up to the final state
  const hooks = ledger('webhooks');
  const callsByOrder = new Map<string, WebhookCall[]>();
  for (const c of i.webhooks) callsByOrder.set(c.orderId, [...(callsByOrder.get(c.orderId) ?? []), c]);
  for (const o of accepted) {
    const st = statusOf(o);
    hooks.checks++;
    const calls = callsByOrder.get(o.id!) ?? [];
    const seqs = new Map<number, { ids: Set<string>; statuses: Set<string> }>();
    for (const c of calls) {
      const e = seqs.get(c.sequence) ?? { ids: new Set<string>(), statuses: new Set<string>() };
      e.ids.add(c.webhookId);
      e.statuses.add(c.status);
      seqs.set(c.sequence, e);
    }
    for (const [seq, e] of seqs) {
      if (e.ids.size !== 1) hooks.violations.push({ kind: 'one event, several webhook ids', orderId: o.id, text: `event #${seq} (${[...e.statuses].join('/')}) delivered under ${e.ids.size} webhook ids` });
      if (e.statuses.size !== 1) hooks.violations.push({ kind: 'one sequence, several statuses', orderId: o.id, text: `event #${seq} carries statuses ${[...e.statuses].join('/')}` });
    }
    if (!isFinalStatus(st)) continue;
    // the last event with the final status: a refused cancel repeats CONFIRMED as a later event
    const finalSeq = Math.max(-1, ...[...seqs].filter(([, e]) => e.statuses.has(st)).map(([n]) => n));
    if (finalSeq < 0) {
      hooks.violations.push({ kind: `${st}: no webhook for the final state`, orderId: o.id, text: `${st}: no webhook for the final state (got ${describe(seqs)})` });
      continue;
    }
    const missing: number[] = [];
    for (let n = 1; n < finalSeq; n++) if (!seqs.has(n)) missing.push(n);
    if (missing.length) hooks.violations.push({ kind: `events #${missing.join(',#')} missing`, orderId: o.id, text: `${st}: events #${missing.join(',#')} missing (got ${describe(seqs)})` });
    const after = [...seqs.keys()].filter((n) => n > finalSeq);
    if (after.length) hooks.violations.push({ kind: 'events after the final one', orderId: o.id, text: `${st}: events after the final one (got ${describe(seqs)})` });
  }

  // 6. dead-letter queues: only what the suite poisoned on purpose
  const dlq = ledger('dead letters');
  const dead = await deadLetters(i.sys.prefix, i.rabbitUrl);
  const poisoned = dead.filter((d) => d.snippet === i.poisonBody);
  dlq.checks = Object.keys(QUEUES).length;
  if (poisoned.length !== 1 || poisoned[0].queue !== 'inventory.commands') dlq.violations.push({ kind: 'poisoned message not dead-lettered once', text: `the poisoned message: found ${poisoned.length} in [${poisoned.map((p) => p.queue).join(',')}], want 1 in inventory.commands.dlq` });
  for (const d of dead.filter((x) => x.snippet !== i.poisonBody)) {
    const orderId = /"orderId":"([^"]+)"/.exec(d.snippet)?.[1];
    dlq.violations.push({ kind: `${d.queue}.dlq: ${d.routingKey}`, orderId, text: `${d.queue}.dlq holds ${d.routingKey} ${d.messageId} after ${d.attempts} attempt(s): ${d.lastError}` });
  }

  // 7. cancels: a 202 is order-processing's decision, so the order always ends CANCELLED; one answered while it was
  // PENDING never started (never reserved, charged or confirmed)
  const cancels = ledger('cancels');
  for (const o of accepted.filter((x) => x.cancel?.outcome === 'accepted')) {
    const v = i.views.get(o.id!);
    if (!v || !isFinalStatus(v.status)) continue;
    cancels.checks++;
    const cancelAt = o.cancel!.acceptedAt ?? '';
    const processingAt = v.history.find((h) => h.status === 'PROCESSING')?.at;
    const history = v.history.map((h) => `${h.status}${h.reason ? `(${h.reason})` : ''} ${h.at.slice(11, 23)}`).join(' > ');
    const text = `cancel answered 202 (${o.cancel!.statusAtCancel}) at ${cancelAt.slice(11, 23)}, order ended ${v.status}${reasonOf(v)}; history ${history}`;
    if (v.status !== 'CANCELLED') cancels.violations.push({ kind: `cancel answered 202 (${o.cancel!.statusAtCancel}), order ended ${v.status}`, orderId: o.id, text });
    else if (o.cancel!.statusAtCancel === 'PENDING' && processingAt) {
      cancels.violations.push({ kind: 'cancel answered 202 while PENDING, yet the order started', orderId: o.id, text });
    }
  }
  return { ledgers: [intake, final, stock, gateway, email, hooks, dlq, cancels], deadLetters: dead };
}

function reasonOf(v?: OrderView): string {
  return v?.rejectionReason ? ` (${v.rejectionReason})` : '';
}

function describe(seqs: Map<number, { statuses: Set<string> }>): string {
  return [...seqs].sort((a, b) => a[0] - b[0]).map(([n, e]) => `#${n} ${[...e.statuses].join('/')}`).join(', ') || 'none';
}
