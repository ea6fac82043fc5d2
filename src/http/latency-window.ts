/**
 * The last calls of each plugin, kept for the dashboard's latency chart (Prometheus histograms say
 * how latency is distributed; a chart wants recent points in time).
 */
export interface LatencySample {
  /** When the call ended (epoch ms). */
  t: number;
  ms: number;
  command: string;
  error?: string;
}

export interface LatencyReport {
  plugin: string;
  samples: LatencySample[];
  count: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

export class LatencyWindows {
  readonly #size: number;
  readonly #windows = new Map<string, LatencySample[]>();

  constructor(size = 120) {
    this.#size = size;
  }

  record(plugin: string, command: string, durationMs: number, error: Error | undefined): void {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (code === 'PLUGVISOR_PLUGIN_NOT_FOUND') return;
    let window = this.#windows.get(plugin);
    if (window === undefined) this.#windows.set(plugin, (window = []));
    window.push({ t: Date.now(), ms: Math.round(durationMs * 1000) / 1000, command, ...(error ? { error: typeof code === 'string' ? code : error.name } : {}) });
    if (window.length > this.#size) window.splice(0, window.length - this.#size);
  }

  forget(plugin: string): void {
    this.#windows.delete(plugin);
  }

  report(plugin: string): LatencyReport {
    const samples = [...(this.#windows.get(plugin) ?? [])];
    const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
    const at = (q: number): number | null => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    return { plugin, samples, count: samples.length, errors: samples.filter((s) => s.error !== undefined).length, p50: at(0.5), p95: at(0.95), max: at(1) };
  }
}
