/**
 * Coalesces the messages one side posts in the same tick into one `batch` message: the per-message
 * cost of a MessagePort (a structured clone and a wake-up of the other thread) dominates a small
 * call, so batching is what lets pipelined calls keep up with a bare port.
 *
 * A batch is capped at MAX_BATCH messages: a full batch leaves at once, the rest at the end of the
 * tick. One unbounded batch (say 20,000 calls issued in one loop) serialises the two threads: the
 * worker sleeps while the host builds and clones the whole batch, then the host sleeps while the
 * worker answers it. Posting every MAX_BATCH messages lets the worker start on the first chunk
 * while the host is still issuing, which doubled burst throughput (benchmarks/, `--scope rpc`,
 * "burst" row). Order is unchanged: a flush posts everything queued before it. A full batch is
 * posted inside push(), so `onCloneError` can run synchronously there too.
 *
 * A batch whose structured clone fails (one uncloneable value) is re-sent message by message, so only
 * the offending message fails; `onCloneError` decides what to do with it.
 */
import type { MessagePort } from 'node:worker_threads';

export interface PostTarget {
  postMessage(value: unknown, transfer?: readonly any[]): void;
}

/** Large enough to amortise the per-message cost, small enough for the threads to overlap. */
export const MAX_BATCH = 128;

export class Outbox<M> {
  readonly #target: PostTarget;
  readonly #onCloneError: (message: M, err: unknown) => void;
  #queue: M[] = [];
  #scheduled = false;

  constructor(target: PostTarget | MessagePort, onCloneError: (message: M, err: unknown) => void) {
    this.#target = target as PostTarget;
    this.#onCloneError = onCloneError;
  }

  push(message: M): void {
    if (this.#queue.push(message) >= MAX_BATCH) {
      this.flush();
      return;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    if (queue.length === 1) {
      this.#postOne(queue[0] as M);
      return;
    }
    try {
      this.#target.postMessage({ t: 'batch', m: queue });
    } catch {
      for (const message of queue) this.#postOne(message);
    }
  }

  #postOne(message: M): void {
    try {
      this.#target.postMessage(message);
    } catch (err) {
      this.#onCloneError(message, err);
    }
  }
}
