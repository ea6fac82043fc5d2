/**
 * Restart intensity and back-off, after OTP supervisors and pm2: at most `maxRestarts` restarts in
 * any `windowSeconds`; past that the plugin is failed. The first restart in a window is immediate,
 * each next one waits twice as long (backoffInitialMs, 2x, 4x, … up to backoffMaxMs).
 */
export interface RestartLimits {
  maxRestarts: number;
  windowSeconds: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export type RestartDecision = { restart: true; delayMs: number; attempt: number } | { restart: false; restartsInWindow: number };

export class RestartPolicy {
  readonly #limits: RestartLimits;
  readonly #now: () => number;
  #restarts: number[] = [];

  constructor(limits: RestartLimits, now: () => number = () => performance.now()) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Called on a crash: may the plugin be restarted, and after how long? */
  onCrash(): RestartDecision {
    const now = this.#now();
    const windowStart = now - this.#limits.windowSeconds * 1000;
    this.#restarts = this.#restarts.filter((t) => t > windowStart);
    const recent = this.#restarts.length;
    if (recent >= this.#limits.maxRestarts) return { restart: false, restartsInWindow: recent };
    this.#restarts.push(now);
    const delayMs = recent === 0 ? 0 : Math.min(this.#limits.backoffMaxMs, this.#limits.backoffInitialMs * 2 ** (recent - 1));
    return { restart: true, delayMs, attempt: recent + 1 };
  }

  reset(): void {
    this.#restarts = [];
  }
}
