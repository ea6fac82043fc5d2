/**
 * `dev plugin monitor`: samples one plugin's calls every interval (rate, latency, errors, per
 * command) and its worker's heap, from the supervisor's call observer. Only calls that go through
 * the host (sup.call, plugin proxies, the CLI, the HTTP API) are seen; calls between plugins travel
 * on direct worker channels.
 */
import type { WorkerHeap } from '../protocol/messages.js';
import type { Supervisor } from '../supervisor.js';

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface CommandSample {
  command: string;
  calls: number;
  errors: number;
  p50: number;
  max: number;
}

export interface MonitorSample {
  plugin: string;
  seq: number;
  at: string;
  intervalMs: number;
  version: string;
  status: string;
  generation: number;
  calls: number;
  errors: number;
  ratePerSecond: number;
  /** Latency of the calls that ended in this interval; null without calls. */
  latencyMs: LatencySummary | null;
  commands: CommandSample[];
  /** The codes of the errors of this interval, with their counts. */
  errorCodes: Record<string, number>;
  /** The worker's V8 heap; null for pooled plugins or without a running worker. */
  heap: WorkerHeap | null;
  pending: number;
  totals: { calls: number; errors: number; timeouts: number; restarts: number; reloads: number };
}

export interface MonitorOptions {
  name: string;
  intervalMs: number;
  /** Stop after this many samples; without it, until the signal aborts. */
  count?: number;
}

interface Observed {
  command: string;
  ms: number;
  code: string | undefined;
  failed: boolean;
}

export async function runMonitor(sup: Supervisor, options: MonitorOptions, emit: (sample: MonitorSample) => void, signal: AbortSignal): Promise<{ samples: number }> {
  const { name } = options;
  sup.info(name); // PLUGVISOR_PLUGIN_NOT_FOUND before anything starts
  const intervalMs = Math.max(50, options.intervalMs);
  let window: Observed[] = [];
  const stopObserving = sup.observeCalls((plugin, command, ms, error) => {
    if (plugin !== name) return;
    const code = (error as { code?: unknown } | undefined)?.code;
    window.push({ command, ms, failed: error !== undefined, code: typeof code === 'string' ? code : error?.name });
  });
  let seq = 0;
  let last = performance.now();
  try {
    while (!signal.aborted && (options.count === undefined || seq < options.count)) {
      await sleep(intervalMs, signal);
      if (signal.aborted) break;
      const now = performance.now();
      const observed = window;
      window = [];
      const info = sup.info(name);
      const heap = (await sup.workerHeap(name).catch(() => undefined)) ?? null;
      emit(sample(++seq, now - last, observed, info, heap));
      last = now;
    }
  } finally {
    stopObserving();
  }
  return { samples: seq };
}

function sample(seq: number, elapsedMs: number, observed: Observed[], info: ReturnType<Supervisor['info']>, heap: WorkerHeap | null): MonitorSample {
  const byCommand = new Map<string, Observed[]>();
  const errorCodes: Record<string, number> = {};
  for (const o of observed) {
    let list = byCommand.get(o.command);
    if (list === undefined) byCommand.set(o.command, (list = []));
    list.push(o);
    if (o.failed) errorCodes[o.code ?? 'Error'] = (errorCodes[o.code ?? 'Error'] ?? 0) + 1;
  }
  const errors = observed.filter((o) => o.failed).length;
  return {
    plugin: info.name,
    seq,
    at: new Date().toISOString(),
    intervalMs: round(elapsedMs),
    version: info.version,
    status: info.status,
    generation: info.generation,
    calls: observed.length,
    errors,
    ratePerSecond: round(observed.length / (elapsedMs / 1000)),
    latencyMs: summarize(observed.map((o) => o.ms)),
    commands: [...byCommand].map(([command, list]) => {
      const s = summarize(list.map((o) => o.ms))!;
      return { command, calls: list.length, errors: list.filter((o) => o.failed).length, p50: s.p50, max: s.max };
    }).sort((a, b) => b.calls - a.calls),
    errorCodes,
    heap,
    pending: info.stats.pending,
    totals: { calls: info.stats.calls, errors: info.stats.errors, timeouts: info.stats.timeouts, restarts: info.stats.restarts, reloads: info.reloadCount },
  };
}

function summarize(values: number[]): LatencySummary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(sorted[sorted.length - 1]!), mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length) };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
