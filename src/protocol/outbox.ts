/**
 * Coalesces the messages one side posts in the same tick into one `batch` message: the per-message
 * cost of a MessagePort (a structured clone and a wake-up of the other thread) dominates a small
 * call, so batching is what lets pipelined calls keep up with a bare port.
 *
 * A batch whose structured clone fails (one uncloneable value) is re-sent message by message, so only
 * the offending message fails; `onCloneError` decides what to do with it.
 */
import type { MessagePort } from 'node:worker_threads';

export interface PostTarget {
  postMessage(value: unknown, transfer?: readonly any[]): void;
}

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
    this.#queue.push(message);
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
