/** Retry schedule of webhook deliveries (pure functions; the dispatcher applies them). */

/** Relative spread of every non-zero delay: 0.2 = ±20 %, so retries of many deliveries do not arrive in lock-step. */
export const JITTER = 0.2;

export function parseSchedule(text: string): number[] {
  return text.split(',').map((s) => Number(s.trim()));
}

/** `ms` spread by ±JITTER; `random` in [0, 1). Zero stays zero (an immediate attempt). */
export function withJitter(ms: number, random: () => number = Math.random): number {
  if (ms <= 0) return 0;
  return Math.round(ms * (1 - JITTER + 2 * JITTER * random()));
}

/**
 * The wait before the next attempt after `attemptsMade` attempts of this
 * round failed, or null when the schedule is used up (the delivery failed).
 * `schedule[0]` is the delay of the first attempt, `schedule[n]` the wait
 * after the n-th failed attempt.
 */
export function nextDelay(schedule: readonly number[], attemptsMade: number, random: () => number = Math.random): number | null {
  if (attemptsMade >= schedule.length) return null;
  return withJitter(schedule[attemptsMade], random);
}
