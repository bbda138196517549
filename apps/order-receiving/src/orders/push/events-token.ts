import { createHmac, timingSafeEqual } from 'node:crypto';

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
