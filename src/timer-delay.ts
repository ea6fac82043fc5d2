/**
 * Node's timers hold at most 2^31-1 ms (about 24.8 days): a longer delay fires after 1 ms instead,
 * with a TimeoutOverflowWarning. Config and manifest durations are capped by their schemas, but a
 * timeout made of several (a reload's activate: start + health + hand-off) can still add up past it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms`, or the longest delay a timer can wait when `ms` is longer. */
export function timerDelay(ms: number): number {
  return Math.min(ms, MAX_TIMER_MS);
}
