/**
 * One plugin worker started ahead of need (config reload.spare_worker). Starting a thread and
 * loading the worker's own code is most of what a plugin's start costs: on Node 20, 2 vCPUs, a bare
 * worker answers in 52-55 ms and plugvisor's worker code adds about 12 ms more, against a few ms to
 * import a small plugin. A reload, a crash restart or a lazy start that finds the spare ready only
 * sends it the plugin to load (an AssignMessage); the next spare starts at once.
 *
 * Never while a reload transaction holds the spares: a starting thread competes for the CPUs, and
 * the transaction's pause is where callers would feel it. A transaction that took the spare gets
 * its successor started when it ends.
 *
 * A spare is started with a plugin's resourceLimits, fixed for a thread's life: it serves the next
 * plugin with the same limits (the defaults, for most), and is replaced by one with the limits the
 * latest start asked for. The same goes for the host's process.env: a spare started before it
 * changed is replaced, not handed out. Idle, it costs about 9 MB of memory (Node 20).
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { PROTOCOL_VERSION, type SpareWorkerData } from '../protocol/messages.js';
import { PLUGIN_WORKER_URL } from './worker-url.js';

export interface SpareShape {
  resourceLimits: ResourceLimits;
  execArgv: string[];
}

interface Spare {
  key: string;
  worker: Worker;
  drop(): void;
  /** Failed or ended before anyone took it. */
  exited: boolean;
}

export class SpareWorkers {
  /** Asked at every start: the setting can change while the host runs (hot-loading.yaml). */
  readonly #enabled: () => boolean;
  #spare: Spare | undefined;
  /** What the latest start asked for: the next spare is started like that. */
  #wanted: SpareShape | undefined;
  #holds = 0;
  #closed = false;
  #started = 0;

  constructor(enabled: boolean | (() => boolean)) {
    this.#enabled = typeof enabled === 'function' ? enabled : () => enabled;
  }

  /** Spares started so far (for tests and diagnostics). */
  get started(): number {
    return this.#started;
  }

  /**
   * A started (or starting) worker with this shape, if the spare has it; a new spare is on its way
   * either way, unless a hold defers it. The caller owns the worker: it must assign it a plugin.
   */
  take(shape: SpareShape): Worker | undefined {
    if (!this.#enabled() || this.#closed) {
      // Turned off while the host runs: the spare started before goes too.
      this.#wanted = undefined;
      void this.#spare?.worker.terminate();
      this.#spare = undefined;
      return undefined;
    }
    this.#wanted = shape;
    const spare = this.#spare;
    let taken: Worker | undefined;
    if (spare !== undefined && !spare.exited && spare.key === keyOf(shape)) {
      this.#spare = undefined;
      spare.worker.off('error', spare.drop).off('exit', spare.drop);
      // A spare does not keep the host alive; a plugin worker does, as any worker would.
      spare.worker.ref();
      taken = spare.worker;
    }
    this.#refill();
    return taken;
  }

  /** No spare starts until the returned release() is called (a reload transaction runs meanwhile). */
  hold(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
      this.#refill();
    };
  }

  /** End the spare; none starts after this. */
  async close(): Promise<void> {
    this.#closed = true;
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare !== undefined) await spare.worker.terminate();
  }

  #refill(): void {
    const wanted = this.#wanted;
    if (this.#closed || this.#holds > 0 || wanted === undefined) return;
    const key = keyOf(wanted);
    const current = this.#spare;
    if (current !== undefined && !current.exited && current.key === key) return;
    if (current !== undefined) void current.worker.terminate();
    this.#spare = undefined;
    let worker: Worker;
    try {
      worker = new Worker(PLUGIN_WORKER_URL, {
        workerData: { protocol: PROTOCOL_VERSION, spare: true } satisfies SpareWorkerData,
        resourceLimits: wanted.resourceLimits,
        execArgv: wanted.execArgv,
        name: 'plugvisor:spare',
      });
    } catch {
      // A spare is an optimisation: the next start makes a worker of its own, and reports why.
      return;
    }
    worker.unref();
    const spare: Spare = {
      key,
      worker,
      exited: false,
      // A spare that fails to start is dropped; the next start makes a worker of its own.
      drop: () => {
        spare.exited = true;
        if (this.#spare === spare) this.#spare = undefined;
      },
    };
    this.#started++;
    worker.on('error', spare.drop);
    worker.once('exit', spare.drop);
    this.#spare = spare;
  }
}

/**
 * What a thread is started with and keeps: its limits, its flags, and its environment (a worker
 * copies process.env at its start, and some of it takes effect only then, such as TZ).
 */
function keyOf(shape: SpareShape): string {
  const { maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb } = shape.resourceLimits;
  const env = Object.entries(process.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb, shape.execArgv, env]);
}
