/**
 * A caller that keeps `window` calls outstanding (a new one is issued as each settles) for as long
 * as it runs, numbering its calls 0, 1, 2, … across stop() and start(). It watches what a user of
 * the plugin would feel during a reload: the worst latency of the calls that settle in a window of
 * time (markWindow() … settle()).
 *
 * Paced (`ratePerSec`), it issues calls at that rate instead, whether or not earlier ones have
 * settled (at most `window` outstanding): a caller that leaves the machine idle between calls.
 */

export type Settled = { ok: true; value: unknown } | { ok: false; error: Error };

export class PipelinedCaller {
  readonly #call: (seq: number) => Promise<unknown>;
  readonly #window: number;
  /** Called in the order calls settle, with the seq each was issued with. */
  readonly #onSettled: (seq: number, result: Settled) => void;
  readonly #ratePerSec: number | undefined;
  #pacer: ReturnType<typeof setInterval> | undefined;
  #running = false;
  #nextSeq = 0;
  #settledCount = 0;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #waiters: Array<{ upTo: number; resolve: () => void }> = [];
  #windowMax = 0;
  #windowCalls = 0;
  answered = 0;
  failed = 0;
  readonly errors: string[] = [];

  constructor(call: (seq: number) => Promise<unknown>, window: number, onSettled: (seq: number, result: Settled) => void = () => {}, ratePerSec?: number) {
    this.#call = call;
    this.#window = window;
    this.#onSettled = onSettled;
    this.#ratePerSec = ratePerSec;
  }

  get issued(): number {
    return this.#nextSeq;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#ratePerSec === undefined) {
      for (let i = this.#inFlight; i < this.#window; i++) this.#issue();
      return;
    }
    const t0 = performance.now();
    const seq0 = this.#nextSeq;
    const perMs = this.#ratePerSec / 1000;
    // A 1 ms timer fires about every 1.1 ms: each tick issues what the rate owes since start().
    this.#pacer = setInterval(() => {
      const due = Math.floor((performance.now() - t0) * perMs) - (this.#nextSeq - seq0);
      for (let i = 0; i < due && this.#inFlight < this.#window; i++) this.#issue();
    }, 1);
  }

  /** Stop issuing; resolves once every call issued has settled. */
  stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#pacer);
    this.#pacer = undefined;
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#idle = resolve));
  }

  /** Start a window: the worst latency and the count of calls that settle from now on. */
  markWindow(): void {
    this.#windowMax = 0;
    this.#windowCalls = 0;
  }

  /** The worst latency (ms) of the calls that settled since markWindow(). */
  get windowMaxMs(): number {
    return this.#windowMax;
  }

  get windowCalls(): number {
    return this.#windowCalls;
  }

  /** Resolves once every call issued before now has settled (calls to one plugin settle in order). */
  settle(): Promise<void> {
    const upTo = this.#nextSeq;
    if (this.#settledCount >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ upTo, resolve }));
  }

  #issue(): void {
    const seq = this.#nextSeq++;
    this.#inFlight++;
    const t0 = performance.now();
    this.#call(seq).then(
      (value) => this.#done(seq, t0, { ok: true, value }),
      (error: Error) => this.#done(seq, t0, { ok: false, error }),
    );
  }

  #done(seq: number, t0: number, result: Settled): void {
    const latency = performance.now() - t0;
    if (latency > this.#windowMax) this.#windowMax = latency;
    this.#windowCalls++;
    if (result.ok) this.answered++;
    else {
      this.failed++;
      if (this.errors.length < 5) this.errors.push(`${(result.error as { code?: string }).code ?? ''} ${result.error.message}`);
    }
    this.#onSettled(seq, result);
    this.#inFlight--;
    this.#settledCount++;
    if (this.#waiters.length > 0) {
      this.#waiters = this.#waiters.filter((w) => {
        if (this.#settledCount < w.upTo) return true;
        w.resolve();
        return false;
      });
    }
    if (this.#running) {
      if (this.#ratePerSec === undefined) this.#issue();
    } else if (this.#inFlight === 0 && this.#idle !== undefined) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }
}
