/**
 * What a benchmark scope (one file per scope: rpc.ts, reload.ts, …) exports, and what it returns.
 * The runner owns everything around a scope: argument parsing, reporters, machine info, result files.
 */

export interface ScopeContext {
  /** --quick: a short smoke run (fewer iterations and rounds); numbers are indicative only. */
  readonly quick: boolean;
  /** Progress for humans; goes to stderr, so `--reporter json` keeps stdout clean. */
  log(line: string): void;
}

/** A table for the pretty reporter; the same numbers are also in `data`. */
export interface Table {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
  /** Printed under the table: what the baseline is, how to read a ratio. */
  note?: string;
}

/** One target from an issue, checked against a measurement. */
export interface TargetCheck {
  name: string;
  /** The target as written, e.g. "<= 1.50x bare port p50". */
  target: string;
  /** The measurement, e.g. "1.12x (38.1 us vs 34.0 us)". */
  measured: string;
  pass: boolean;
}

export interface ScopeResult {
  /** Every number measured, in a shape the scope chooses (written to the JSON result file). */
  data: Record<string, unknown>;
  tables: Table[];
  targets: TargetCheck[];
  /**
   * Files to write beside the result files (a plot, say `reload-pause.svg`), under the same rules:
   * not with --no-save, into --out. The runner keeps them out of the JSON report.
   */
  files?: ScopeFile[];
}

export interface ScopeFile {
  /** A file name (no folders), e.g. "reload-pause.svg". */
  name: string;
  content: string;
}

export interface BenchScope {
  /** One line: what this scope measures and against which baselines. */
  description: string;
  run(ctx: ScopeContext): Promise<ScopeResult>;
}
