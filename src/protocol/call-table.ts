/**
 * The calls one side is waiting on, with their deadlines. Used by the host for calls to a plugin and
 * by a worker for calls to its dependencies.
 *
 * One timer serves the whole table: deadlines are handed out in issue order, so the oldest entry
 * (the first in the Map's insertion order) expires first. Arming a timer per call would cost more
 * than the call itself at 200k calls/s.
 */
import { timerDelay } from '../timer-delay.js';

export interface PendingCall<T = unknown> {
  readonly id: number;
  readonly command: string;
  readonly deadline: number;
  resolve(value: T): void;
  reject(err: Error): void;
  /** Free for the owner: e.g. the worker generation the call was sent to (0 = not sent yet). */
  sentTo: number;
}

export class CallTable<T = unknown> {
  readonly #pending = new Map<number, PendingCall<T>>();
  readonly #onTimeout: (call: PendingCall<T>) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #nextId = 1;

  constructor(onTimeout: (call: PendingCall<T>) => void) {
    this.#onTimeout = onTimeout;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Register a call; the caller posts it. Returns the call's entry. */
  add(command: string, timeoutMs: number, resolve: (v: T) => void, reject: (e: Error) => void): PendingCall<T> {
    const id = this.#nextId++;
    const deadline = performance.now() + timeoutMs;
    const call: PendingCall<T> = { id, command, deadline, resolve, reject, sentTo: 0 };
    this.#pending.set(id, call);
    if (deadline < this.#timerAt) this.#arm(deadline);
    return call;
  }

  get(id: number): PendingCall<T> | undefined {
    return this.#pending.get(id);
  }

  /** Remove a call and return it, or undefined when it was already settled (a late reply). */
  take(id: number): PendingCall<T> | undefined {
    const call = this.#pending.get(id);
    // The timer stays armed when the table empties: re-arming it for every sequential call would
    // cost more than letting it fire once on an empty table.
    if (call !== undefined) this.#pending.delete(id);
    return call;
  }

  /** Every pending call, oldest first. */
  values(): IterableIterator<PendingCall<T>> {
    return this.#pending.values();
  }

  /** Reject and remove every call that matches. */
  failWhere(match: (call: PendingCall<T>) => boolean, makeError: (call: PendingCall<T>) => Error): number {
    let failed = 0;
    for (const call of [...this.#pending.values()]) {
      if (!match(call)) continue;
      this.#pending.delete(call.id);
      failed++;
      call.reject(makeError(call));
    }
    return failed;
  }

  /** Stop the timer (the owner is closing). */
  close(): void {
    this.#disarm();
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    // A deadline beyond a timer's reach re-arms when the clamped timer fires.
    this.#timer = setTimeout(() => this.#expire(), timerDelay(Math.max(0, at - performance.now()) + 1));
    this.#timer.unref?.();
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #expire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const call of [...this.#pending.values()]) {
      if (call.deadline > now) {
        next = Math.min(next, call.deadline);
        continue;
      }
      this.#pending.delete(call.id);
      this.#onTimeout(call);
    }
    if (next !== Infinity) this.#arm(next);
  }
}
