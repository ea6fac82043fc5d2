/** Summaries of latency samples and throughput rounds. Times in, microseconds and calls/s out. */

export interface LatencyStats {
  samples: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
  minUs: number;
  maxUs: number;
  /** Sequential calls per second over the measured wall time (not 1 / mean: includes the loop). */
  callsPerSec: number;
}

/** `samplesMs`: one round-trip time per call, in milliseconds; `wallMs`: the wall time of them all. */
export function latencyStats(samplesMs: Float64Array, wallMs: number): LatencyStats {
  const sorted = Float64Array.from(samplesMs).sort();
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    samples: n,
    p50Us: round(quantile(sorted, 0.5) * 1000),
    p90Us: round(quantile(sorted, 0.9) * 1000),
    p99Us: round(quantile(sorted, 0.99) * 1000),
    meanUs: round((sum / n) * 1000),
    minUs: round(sorted[0]! * 1000),
    maxUs: round(sorted[n - 1]! * 1000),
    callsPerSec: Math.round(n / (wallMs / 1000)),
  };
}

export interface ThroughputStats {
  /** The median round: robust against one round disturbed by GC or a neighbour on a shared machine. */
  callsPerSec: number;
  minCallsPerSec: number;
  maxCallsPerSec: number;
  rounds: number[];
}

export function throughputStats(rounds: number[]): ThroughputStats {
  const sorted = [...rounds].sort((a, b) => a - b);
  return {
    callsPerSec: Math.round(median(sorted)),
    minCallsPerSec: Math.round(sorted[0]!),
    maxCallsPerSec: Math.round(sorted[sorted.length - 1]!),
    rounds: rounds.map(Math.round),
  };
}

function quantile(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** "1.23x" (or "0.003x" for a ratio far below 1, such as in-process vs a thread hop) */
export function ratio(x: number, baseline: number): string {
  const r = x / baseline;
  return `${r.toFixed(r < 0.1 ? 3 : 2)}x`;
}

/** 123456 -> "123,456" */
export function fmtInt(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/** A distribution of durations in milliseconds (reloads, pauses, starts): few samples, so no histogram. */
export interface MsStats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/**
 * Percentiles of `samplesMs` by the nearest-rank method (the p99 of 40 samples is the largest one:
 * read `n` beside a p99). Rounded to 3 decimals (microseconds).
 */
export function msStats(samplesMs: readonly number[]): MsStats {
  const sorted = Float64Array.from(samplesMs).sort();
  const n = sorted.length;
  if (n === 0) return { n: 0, p50: NaN, p90: NaN, p99: NaN, min: NaN, max: NaN, mean: NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    n,
    p50: round(quantile(sorted, 0.5), 3),
    p90: round(quantile(sorted, 0.9), 3),
    p99: round(quantile(sorted, 0.99), 3),
    min: round(sorted[0]!, 3),
    max: round(sorted[n - 1]!, 3),
    mean: round(sum / n, 3),
  };
}

/** The median of unsorted samples (NaN for none). */
export function medianOf(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  return median([...samples].sort((a, b) => a - b));
}

/** A duration for a table: 3 significant-ish digits, "0.412", "12.4", "1,234". */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 10) return ms.toFixed(3);
  if (ms < 100) return ms.toFixed(1);
  return fmtInt(ms);
}

/** 1536 -> "1.5 KB", 52428800 -> "50.0 MB" */
export function fmtBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}
