import { isUuid } from '../http/headers';
import { OrdersError } from '../orders.error';

/** Opaque keyset cursor over (created_at, id), newest first. */
export interface Cursor {
  at: string;
  id: string;
}

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
