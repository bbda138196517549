/**
 * Exponential backoff with full jitter: the wait before retry number
 * `retryIndex` (0-based) is uniform in [0, min(maxMs, baseMs · 2^retryIndex)).
 */
export function backoffDelay(retryIndex: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** retryIndex);
  return Math.floor(random() * ceiling);
}
