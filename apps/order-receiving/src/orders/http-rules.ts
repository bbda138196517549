import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { CreateOrderDto } from '@orders/dto';
import { OrdersError } from './orders.error';

/** RFC 7240 `Prefer: wait=N`, clamped to MAX_WAIT_SECONDS; undefined when absent. */
export const MAX_WAIT_SECONDS = 30;
export function preferWaitSeconds(prefer: string | undefined): number | undefined {
  if (!prefer) return undefined;
  const m = /(?:^|[,;]\s*)wait\s*=\s*"?(\d{1,9})"?\s*(?:[,;]|$)/i.exec(prefer);
  if (!m) return undefined;
  return Math.min(Number(m[1]), MAX_WAIT_SECONDS);
}

const KEY_RE = /^[\x20-\x7e]{1,255}$/;
/** The Idempotency-Key header: required, 1..255 printable ASCII characters. */
export function checkIdempotencyKey(value: string | string[] | undefined): string {
  if (value === undefined || value === '') throw new OrdersError('idempotency_key_missing', 'the Idempotency-Key header is required');
  if (typeof value !== 'string' || !KEY_RE.test(value)) {
    throw new OrdersError('idempotency_key_invalid', 'the Idempotency-Key header must be 1-255 printable ASCII characters');
  }
  return value;
}

/**
 * The order as it travels in order.placed.v1, with a fixed key order, so
 * the same order sent with keys in another order hashes the same.
 */
export function canonicalOrder(dto: CreateOrderDto) {
  const c = dto.customer;
  const a = dto.shippingAddress;
  return {
    customer: { id: c.id, email: c.email, ...(c.name !== undefined ? { name: c.name } : {}) },
    items: dto.items.map((i) => ({ sku: i.sku, quantity: i.quantity })),
    ...(dto.couponCode !== undefined ? { couponCode: dto.couponCode } : {}),
    shippingAddress: {
      line1: a.line1,
      ...(a.line2 !== undefined ? { line2: a.line2 } : {}),
      city: a.city,
      postalCode: a.postalCode,
      country: a.country,
      ...(a.region !== undefined ? { region: a.region } : {}),
    },
    payment: { token: dto.payment.token },
  };
}
export type CanonicalOrder = ReturnType<typeof canonicalOrder>;

export function requestHash(canonicalJson: string): string {
  return createHash('sha256').update(canonicalJson).digest('base64url');
}

/**
 * The token of links.events: `<expiry, unix seconds>.<HMAC over tenant, order
 * id and expiry>`, so it opens that one order's stream only, until it expires.
 */
export function eventsToken(secret: string, tenantId: string, orderId: string, expiresAt: number): string {
  const exp = String(Math.floor(expiresAt));
  return `${exp}.${createHmac('sha256', secret).update(`${tenantId}\n${orderId}\n${exp}`).digest('base64url')}`;
}

/** 'valid', 'expired' (a genuine token past its expiry) or 'invalid' (anything else). */
export function checkEventsToken(secret: string, tenantId: string, orderId: string, token: string, nowSeconds = Date.now() / 1000): 'valid' | 'expired' | 'invalid' {
  const m = /^(\d{1,12})\.[A-Za-z0-9_-]{43}$/.exec(token);
  if (!m) return 'invalid';
  const expected = Buffer.from(eventsToken(secret, tenantId, orderId, Number(m[1])));
  const given = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return Number(m[1]) > nowSeconds ? 'valid' : 'expired';
}

/** Opaque keyset cursor over (created_at, id), newest first. */
export interface Cursor {
  at: string;
  id: string;
}
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID_RE.test(s);

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.at}|${c.id}`).toString('base64url');
}

export function decodeCursor(s: string): Cursor {
  const [at, id, extra] = Buffer.from(s, 'base64url').toString('utf8').split('|');
  if (extra !== undefined || !id || !isUuid(id) || !isUtcTimestamp(at)) {
    throw new OrdersError('bad_cursor', 'cursor is not a cursor this API issued');
  }
  return { at, id };
}

/** `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` naming a real instant: no 30 February, no hour 24. */
function isUtcTimestamp(s: string | undefined): boolean {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,6})?Z$/.exec(s ?? '');
  if (!m) return false;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, sec));
  return y >= 1 && t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && t.getUTCHours() === h && t.getUTCMinutes() === mi && t.getUTCSeconds() === sec;
}

/** Per-tenant token buckets, refilled lazily on each request (no timers). */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly perSecond: number, private readonly burst: number, private readonly now: () => number = () => performance.now()) {}

  /** 0 when the request may pass, otherwise seconds until a token is available. */
  take(tenant: string): number {
    const t = this.now();
    let b = this.buckets.get(tenant);
    if (!b) {
      b = { tokens: this.burst, at: t };
      this.buckets.set(tenant, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }
}

/** One SSE frame. */
export function sseFrame(id: number, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
