/**
 * Whether an error means the database (or the network to it) is
 * unavailable rather than something wrong with the request or message at
 * hand. Such failures must wait and retry (HTTP 503 + Retry-After, message
 * deferral), never use up a message's attempts. Follows TypeORM's
 * `driverError`, `cause` and AggregateError members.
 */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED',
  'EHOSTDOWN', 'ENETDOWN', 'ERR_SOCKET_CLOSED', 'ERR_STREAM_DESTROYED',
]);

/**
 * SQLSTATE classes and codes of an unavailable database (not of a bad
 * statement): connection exceptions (08), shutdown and cannot-connect-now
 * (57P01-57P04), insufficient resources (53xxx: too many connections, out of
 * memory, disk full), a read-only standby after failover (25006), and
 * contention that passes when retried (55P03 lock not available, 40P01
 * deadlock, 40001 serialization failure).
 */
const PG_UNAVAILABLE = /^(08...|57P0[1-4]|53000|53100|53200|53300|53400|25006|55P03|40P01|40001)$/;

const MESSAGES = [
  /connection terminated/i, // 'Connection terminated unexpectedly', '... due to connection timeout'
  /connection (is )?closed/i,
  /timeout exceeded when trying to connect/i, // pg Pool: no connection free in connectionTimeoutMillis
  /cannot use a pool after calling end/i,
  /client has encountered a connection error/i,
  /client was closed and is not queryable/i,
  /query read timeout/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /canceling statement due to statement timeout/i,
];

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; driverError?: unknown; errors?: unknown };
  if (typeof e.code === 'string') {
    if (NETWORK_CODES.has(e.code)) return true;
    if (PG_UNAVAILABLE.test(e.code)) return true;
  }
  if (typeof e.message === 'string' && MESSAGES.some((re) => re.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true; // AggregateError (dual-stack connect)
  return isDatabaseUnavailable(e.driverError, depth + 1) || isDatabaseUnavailable(e.cause, depth + 1);
}
