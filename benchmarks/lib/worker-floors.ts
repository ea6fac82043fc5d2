/**
 * Baselines that involve a bare worker thread, shared by the reload and startup scopes: what
 * starting a thread costs, and what moving a serialised state into a fresh thread costs, without
 * plugvisor in the way.
 */
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';

const WORKERS = new URL('../workers/', import.meta.url);

export interface WorkerStart {
  /** new Worker() until its 'online' event. */
  onlineMs: number;
  /** new Worker() until the answer to a first message posted after 'online'. */
  firstReplyMs: number;
}

/**
 * new Worker → 'online' → first message answered: the least a plugin version's worker can cost.
 * `execArgv` as given to the Worker (default: inherited from this process).
 */
export async function bareWorkerStart(execArgv?: string[]): Promise<WorkerStart> {
  const t0 = performance.now();
  const worker = new Worker(new URL('echo-worker.mjs', WORKERS), { name: 'bench:bare-start', ...(execArgv === undefined ? {} : { execArgv }) });
  try {
    await once(worker, 'online');
    const onlineMs = performance.now() - t0;
    worker.postMessage({ id: 0 });
    await once(worker, 'message');
    return { onlineMs, firstReplyMs: performance.now() - t0 };
  } finally {
    await worker.terminate();
  }
}

/**
 * A bare worker importing one module (a compiled plugin): new Worker → online → first reply, the
 * reply sent once the import is done. The bare start plus the plugin's import, no plugvisor runtime.
 */
export async function bareWorkerImport(moduleUrl: string): Promise<number> {
  const t0 = performance.now();
  const worker = new Worker(new URL('import-worker.mjs', WORKERS), { name: 'bench:import', workerData: { url: moduleUrl } });
  try {
    await once(worker, 'online');
    worker.postMessage({ id: 0 });
    await once(worker, 'message');
    return performance.now() - t0;
  } finally {
    await worker.terminate();
  }
}

export interface TransferFloor {
  /** Post the buffer (moved with a transfer list) to a warm worker, until its acknowledgement. */
  transferMs: number;
  /** node:v8 deserialise inside that worker: a fresh heap, as a new plugin version's worker has. */
  workerDeserializeMs: number;
}

/**
 * Move `bytes` (a node:v8 serialised state) into a freshly started worker, as a reload hands the
 * old version's snapshot to the new one. The worker is started and warmed by one message before the
 * clock runs. `bytes` is detached afterwards (its buffer was moved); a buffer that is a view into a
 * larger one is copied first, outside the clock.
 */
export async function transferFloor(bytes: Uint8Array): Promise<TransferFloor> {
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
  const worker = new Worker(new URL('transfer-worker.mjs', WORKERS), { name: 'bench:transfer' });
  try {
    await once(worker, 'online');
    const warm = new Uint8Array(16);
    worker.postMessage({ bytes: warm, deserialize: false }, [warm.buffer]);
    await once(worker, 'message');
    const t0 = performance.now();
    worker.postMessage({ bytes: own, deserialize: true }, [own.buffer as ArrayBuffer]);
    await once(worker, 'message');
    const transferMs = performance.now() - t0;
    const [done] = (await once(worker, 'message')) as [{ ms: number }];
    return { transferMs, workerDeserializeMs: done.ms };
  } finally {
    await worker.terminate();
  }
}

export interface CodecFloor {
  /** node:v8 serialise of the state, on a thread that holds only that state. */
  serializeMs: number;
  /** node:v8 deserialise of those bytes on the same thread. */
  deserializeMs: number;
  /** The serialised state (its buffer owned: it can be transferred). */
  bytes: Uint8Array;
}

/**
 * A thread holding one state built by the plugins' own generator (state-gen.mjs), measuring its
 * node:v8 serialise and deserialise on demand: "one thread", with a heap like the plugin worker's
 * rather than the benchmark's main thread, whose GC would also walk everything else it holds.
 */
export class StateFloorWorker {
  readonly #worker: Worker;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  static async start(genUrl: string, kind: string, n: number): Promise<StateFloorWorker> {
    const worker = new Worker(new URL('state-floor-worker.mjs', WORKERS), { name: 'bench:state-floor', workerData: { genUrl, kind, n } });
    try {
      await once(worker, 'message');
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return new StateFloorWorker(worker);
  }

  async measure(): Promise<CodecFloor> {
    this.#worker.postMessage(null);
    const [m] = (await once(this.#worker, 'message')) as [CodecFloor];
    return m;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

/**
 * The least a delta reload's pause can cost on this machine under the same kind of load: two warm
 * threads holding the same state, a pipelined caller mutating it on the "old" one, and a pause made
 * of the same chain of messages as plugvisor's (workers/pause-relay-worker.mjs): just before it,
 * the old thread gets its end of a channel and the new thread the other end, told to wait there
 * for the state; then calls are held on this thread, the detach request follows the calls in
 * flight, the old thread posts the entries it wrote straight to the new one and answers, the new
 * one applies them and answers; the pause ends with both answers. Nothing else: no worker start,
 * no validation, no plugvisor.
 */
export class PauseRelayFloor {
  readonly #old: Worker;
  readonly #next: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  readonly #held: Array<() => void> = [];
  #nextId = 0;
  #paused = false;
  #detached: (() => void) | undefined;
  #died: Error | undefined;
  /** Rejects when a thread exits. */
  readonly #death: Promise<never>;

  private constructor(old: Worker, next: Worker) {
    this.#old = old;
    this.#next = next;
    old.on('message', (m: { t: string; id?: number }) => {
      if (m.t === 'detached') {
        this.#detached?.();
        return;
      }
      this.#pending.get(m.id!)?.resolve();
      this.#pending.delete(m.id!);
    });
    // A thread that dies must fail the run, not hang it: calls and pauses reject from then on.
    let die: (err: Error) => void = () => {};
    this.#death = new Promise<never>((_, reject) => (die = reject));
    this.#death.catch(() => undefined);
    for (const w of [old, next]) {
      w.once('exit', (code) => {
        this.#died ??= new Error(`pause relay: a thread exited (code ${code})`);
        for (const p of this.#pending.values()) p.reject(this.#died);
        this.#pending.clear();
        die(this.#died);
      });
    }
  }

  static async start(genUrl: string, n: number): Promise<PauseRelayFloor> {
    const url = new URL('pause-relay-worker.mjs', WORKERS);
    const old = new Worker(url, { name: 'bench:relay-old', workerData: { genUrl, n, role: 'old' } });
    const next = new Worker(url, { name: 'bench:relay-new', workerData: { genUrl, n, role: 'new' } });
    try {
      await Promise.all([once(old, 'message'), once(next, 'message')]);
    } catch (err) {
      await Promise.all([old.terminate(), next.terminate()]);
      throw err;
    }
    return new PauseRelayFloor(old, next);
  }

  /** A call to the old thread, held on this one during a pause (for a PipelinedCaller). */
  call(seq: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const send = (): void => {
        if (this.#died !== undefined) return reject(this.#died);
        const id = this.#nextId++;
        this.#pending.set(id, { resolve, reject });
        this.#old.postMessage({ t: 'call', id, seq });
      };
      if (this.#paused) this.#held.push(send);
      else send();
    });
  }

  /** One pause: from holding the calls until both threads have answered (ms). */
  async pause(): Promise<number> {
    if (this.#died !== undefined) throw this.#died;
    const { port1, port2 } = new MessageChannel();
    const detached = new Promise<void>((resolve) => (this.#detached = resolve));
    const activated = once(this.#next, 'message');
    // As in a reload: the channel's ends and the activate request go before the pause.
    this.#old.postMessage({ t: 'handoff', port: port1 }, [port1]);
    this.#next.postMessage({ t: 'activate', port: port2 }, [port2]);
    this.#paused = true;
    const t0 = performance.now();
    this.#old.postMessage({ t: 'detach' });
    await Promise.race([Promise.all([detached, activated]), this.#death]);
    const ms = performance.now() - t0;
    this.#paused = false;
    for (const send of this.#held.splice(0)) send();
    return ms;
  }

  async close(): Promise<void> {
    await Promise.all([this.#old.terminate(), this.#next.terminate()]);
  }
}
