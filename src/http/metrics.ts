/**
 * The dev server's Prometheus metrics, in a registry of its own (two servers in one process do not
 * collide). Calls are counted through the supervisor's call observer, reloads, restarts and crashes
 * through its events; worker heaps are asked of each worker at scrape time.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkerHeap } from '../protocol/messages.js';
import type { Supervisor } from '../supervisor.js';
import { subscribe } from './subscribe.js';

/** A worker that does not report its heap within this long is left out of the scrape. */
const HEAP_SCRAPE_TIMEOUT_MS = 1000;

const CALL_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const RELOAD_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const PAUSE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export interface DevMetrics {
  readonly contentType: string;
  observeCall(plugin: string, command: string, durationMs: number, error: Error | undefined): void;
  /** The Prometheus text exposition of every metric. */
  text(): Promise<string>;
  /** Stop listening to the supervisor. */
  close(): void;
}

export function createMetrics(sup: Supervisor): DevMetrics {
  const registry = new Registry();
  const registers = [registry];
  const calls = new Counter({ name: 'plugvisor_calls_total', help: 'Calls made to plugin commands.', labelNames: ['plugin', 'command'] as const, registers });
  const callErrors = new Counter({ name: 'plugvisor_call_errors_total', help: 'Calls that failed, by error code.', labelNames: ['plugin', 'command', 'code'] as const, registers });
  const callDuration = new Histogram({
    name: 'plugvisor_call_duration_seconds', help: 'Call latency seen by the host, from call() to its answer.', labelNames: ['plugin', 'command'] as const, buckets: CALL_BUCKETS, registers,
  });
  const reloads = new Counter({ name: 'plugvisor_reloads_total', help: 'Reloads, by result (ok or rolled_back).', labelNames: ['plugin', 'result'] as const, registers });
  const reloadDuration = new Histogram({ name: 'plugvisor_reload_duration_seconds', help: 'Duration of successful reloads, from start to the old version disposed.', labelNames: ['plugin'] as const, buckets: RELOAD_BUCKETS, registers });
  const reloadPause = new Histogram({ name: 'plugvisor_reload_pause_seconds', help: 'How long calls were held during successful reloads.', labelNames: ['plugin'] as const, buckets: PAUSE_BUCKETS, registers });
  const restarts = new Counter({ name: 'plugvisor_restarts_total', help: 'Workers restarted after a crash.', labelNames: ['plugin'] as const, registers });
  const crashes = new Counter({ name: 'plugvisor_crashes_total', help: 'Worker crashes, by reason (exit, oom, uncaught, unresponsive).', labelNames: ['plugin', 'reason'] as const, registers });

  // One question per worker per scrape, shared by the heap gauges.
  let heapScrape: Promise<Map<string, WorkerHeap>> | undefined;
  const heaps = (): Promise<Map<string, WorkerHeap>> => (heapScrape ??= scrapeHeaps(sup));
  const heapGauge = (name: string, help: string, field: keyof WorkerHeap): void => {
    new Gauge({
      name, help, labelNames: ['plugin'] as const, registers,
      async collect() {
        this.reset();
        for (const [plugin, heap] of await heaps()) this.set({ plugin }, heap[field]);
      },
    });
  };
  heapGauge('plugvisor_worker_heap_used_bytes', "V8 heap used in the plugin's worker.", 'heapUsedBytes');
  heapGauge('plugvisor_worker_heap_total_bytes', "V8 heap allocated in the plugin's worker.", 'heapTotalBytes');
  heapGauge('plugvisor_worker_heap_limit_bytes', "V8 heap limit of the plugin's worker (limits.maxOldGenerationSizeMb).", 'heapLimitBytes');
  new Gauge({
    name: 'plugvisor_plugin_info', help: 'One series per loaded plugin, with its version and status.', labelNames: ['plugin', 'version', 'status'] as const, registers,
    collect() {
      this.reset();
      for (const p of sup.list()) this.set({ plugin: p.name, version: p.version, status: p.status }, 1);
    },
  });

  const unsubscribe = subscribe(sup, {
    reload: (e) => {
      reloads.inc({ plugin: e.plugin, result: 'ok' });
      reloadDuration.observe({ plugin: e.plugin }, e.durationMs / 1000);
      reloadPause.observe({ plugin: e.plugin }, e.pauseMs / 1000);
    },
    rollback: (e) => reloads.inc({ plugin: e.plugin, result: 'rolled_back' }),
    restart: (e) => restarts.inc({ plugin: e.plugin }),
    crash: (e) => crashes.inc({ plugin: e.plugin, reason: e.reason }),
  });

  return {
    contentType: registry.contentType,
    observeCall(plugin, command, durationMs, error) {
      const code = (error as { code?: unknown } | undefined)?.code;
      // Names from HTTP requests must not mint series: unknown plugins are not counted, unknown commands share one label.
      if (code === 'PLUGVISOR_PLUGIN_NOT_FOUND') return;
      const labels = { plugin, command: code === 'PLUGVISOR_COMMAND_NOT_FOUND' ? '_unknown' : command };
      calls.inc(labels);
      callDuration.observe(labels, durationMs / 1000);
      if (error !== undefined) callErrors.inc({ ...labels, code: typeof code === 'string' ? code : 'PLUGVISOR_COMMAND_FAILED' });
    },
    async text() {
      try {
        return await registry.metrics();
      } finally {
        heapScrape = undefined;
      }
    },
    close: unsubscribe,
  };
}

async function scrapeHeaps(sup: Supervisor): Promise<Map<string, WorkerHeap>> {
  const entries = await Promise.all(sup.list().map(async ({ name }) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), HEAP_SCRAPE_TIMEOUT_MS).unref();
    });
    try {
      const heap = await Promise.race([sup.workerHeap(name).catch(() => undefined), timeout]);
      return heap === undefined ? undefined : ([name, heap] as const);
    } finally {
      clearTimeout(timer);
    }
  }));
  return new Map(entries.filter((e) => e !== undefined));
}
