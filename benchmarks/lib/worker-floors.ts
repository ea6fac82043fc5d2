/**
 * Baselines that involve a bare worker thread, shared by the reload and startup scopes: what
 * starting a thread costs, and what moving a serialised state into a fresh thread costs, without
 * plugvisor in the way.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

const WORKERS = new URL('../workers/', import.meta.url);

export interface WorkerStart {
  /** new Worker() until its 'online' event. */
  onlineMs: number;
  /** new Worker() until the answer to a first message posted after 'online'. */
  firstReplyMs: number;
}

/** new Worker → 'online' → first message answered: the least a plugin version's worker can cost. */
export async function bareWorkerStart(): Promise<WorkerStart> {
  const t0 = performance.now();
  const worker = new Worker(new URL('echo-worker.mjs', WORKERS), { name: 'bench:bare-start' });
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

/** A bare worker importing one module (a compiled plugin) and reporting it: start + import, no plugvisor runtime. */
export async function bareWorkerImport(moduleUrl: string): Promise<number> {
  const t0 = performance.now();
  const worker = new Worker(new URL('import-worker.mjs', WORKERS), { name: 'bench:import', workerData: { url: moduleUrl } });
  try {
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
    worker.postMessage({ bytes: own, deserialize: true }, [own.buffer]);
    await once(worker, 'message');
    const transferMs = performance.now() - t0;
    const [done] = (await once(worker, 'message')) as [{ ms: number }];
    return { transferMs, workerDeserializeMs: done.ms };
  } finally {
    await worker.terminate();
  }
}
