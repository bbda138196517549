import { randomUUID } from 'node:crypto';

/** A seeded pseudo-random source (mulberry32), so a run's mix can be replayed with CHAOS_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Line {
  sku: string;
  quantity: number;
}

export interface PlacedOrder {
  key: string;
  tenant: string;
  apiKey: string;
  kind: 'ok' | 'decline' | 'coupon' | 'bad-coupon';
  items: Line[];
  email: string;
  id?: string;
  attempts: number;
  /** Answers other than the final 202, e.g. `503`, `network`. */
  retried: string[];
  acceptedAt?: number;
  /** `statusAtCancel`: the status the 202 said the order had. */
  cancel?: { after: number; answers: string[]; outcome?: 'accepted' | 'final' | 'gave-up'; statusAtCancel?: string; acceptedAt?: string };
  /** A non-retryable answer (4xx other than 409/429): the order was never accepted. */
  refused?: string;
}

export interface StorefrontOptions {
  baseUrl: () => string;
  tenants: Array<{ tenant: string; apiKey: string }>;
  skus: string[];
  coupon: string;
  cancelShare: number;
  random: () => number;
}

const RETRYABLE = (status: number) => status >= 500 || status === 409 || status === 429;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The storefront: places orders, each retried with the SAME Idempotency-Key
 * (network errors, 5xx, 409, 429; Retry-After honoured) until accepted, and
 * cancels a share of them at random moments (retried the same way).
 */
export class Storefront {
  readonly orders: PlacedOrder[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly o: StorefrontOptions) {}

  get accepted(): PlacedOrder[] {
    return this.orders.filter((x) => x.id !== undefined);
  }

  /** Starts one order (and maybe its cancel) in the background. */
  place(n: number): void {
    const r = this.o.random;
    const t = this.o.tenants[n % this.o.tenants.length];
    const pick = r();
    const kind: PlacedOrder['kind'] = pick < 0.65 ? 'ok' : pick < 0.8 ? 'decline' : pick < 0.95 ? 'coupon' : 'bad-coupon';
    const lines = 1 + Math.floor(r() * 2);
    const skus = [...this.o.skus].sort(() => r() - 0.5).slice(0, lines);
    const order: PlacedOrder = {
      key: `chaos-${randomUUID()}`,
      tenant: t.tenant,
      apiKey: t.apiKey,
      kind,
      items: skus.map((sku) => ({ sku, quantity: 1 + Math.floor(r() * 3) })),
      email: `shopper-${n}@example.com`,
      attempts: 0,
      retried: [],
      ...(r() < this.o.cancelShare ? { cancel: { after: r() < 0.4 ? 0 : Math.floor(r() * 3000), answers: [] } } : {}),
    };
    this.orders.push(order);
    const p = this.run(order).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Stops retrying (only at the end of a bounded wait) and waits for what is in flight. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size && Date.now() < deadline) await Promise.race([...this.inFlight, sleep(500)]);
    this.stopped = true;
    await Promise.all([...this.inFlight]);
  }

  private body(o: PlacedOrder): object {
    return {
      customer: { id: `cust-${o.email}`, email: o.email, name: 'Chaos Shopper' },
      items: o.items,
      ...(o.kind === 'coupon' ? { couponCode: this.o.coupon } : o.kind === 'bad-coupon' ? { couponCode: 'NO-SUCH-COUPON' } : {}),
      shippingAddress: { line1: '1 Chaos Road', city: 'London', postalCode: 'N1 9GU', country: 'GB' },
      payment: { token: o.kind === 'decline' ? 'tok_decline' : 'tok_ok' },
    };
  }

  private async run(o: PlacedOrder): Promise<void> {
    const body = JSON.stringify(this.body(o));
    let backoff = 200;
    while (!this.stopped) {
      o.attempts++;
      const res = await this.request('POST', '/orders', o.apiKey, body, { 'idempotency-key': o.key });
      if (res.status === 202 || res.status === 200) {
        o.id = String((res.json as { id: string }).id);
        o.acceptedAt = Date.now();
        break;
      }
      if (res.status !== 0 && !RETRYABLE(res.status)) {
        o.refused = `${res.status} ${res.text.slice(0, 200)}`;
        return;
      }
      o.retried.push(res.status === 0 ? 'network' : (res.status === 503 || res.status === 429) && res.retryAfterMs === undefined ? `${res.status} without Retry-After` : String(res.status));
      await sleep(res.retryAfterMs ?? backoff * (0.5 + this.o.random()));
      backoff = Math.min(backoff * 2, 3000);
    }
    if (!o.id || !o.cancel) return;
    await sleep(o.cancel.after);
    backoff = 200;
    while (!this.stopped) {
      const res = await this.request('POST', `/orders/${o.id}/cancel`, o.apiKey);
      o.cancel.answers.push(res.status === 0 ? 'network' : String(res.status));
      if (res.status === 202) {
        o.cancel.outcome = 'accepted';
        o.cancel.acceptedAt = new Date().toISOString();
        o.cancel.statusAtCancel = String((res.json as { status?: string } | undefined)?.status ?? '');
        return;
      }
      if (res.status === 409) {
        o.cancel.outcome = 'final';
        return;
      }
      if (res.status !== 0 && !RETRYABLE(res.status)) return;
      await sleep(res.retryAfterMs ?? backoff * (0.5 + this.o.random()));
      backoff = Math.min(backoff * 2, 3000);
    }
    o.cancel.outcome = 'gave-up';
  }

  private async request(method: string, path: string, apiKey: string, body?: string, headers: Record<string, string> = {}) {
    try {
      const res = await fetch(`${this.o.baseUrl()}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
        body,
        signal: AbortSignal.timeout(15000),
      });
      const text = await res.text();
      const ra = Number(res.headers.get('retry-after'));
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, text, json, retryAfterMs: Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 5000) : undefined };
    } catch {
      return { status: 0, text: '', json: undefined, retryAfterMs: undefined };
    }
  }
}
