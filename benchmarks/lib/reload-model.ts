/**
 * The reload scope's vocabulary, shared by the measuring (reload.ts) and the reporting
 * (reload-report.ts): the state variants and runs, the plan, and the shape of every sample.
 */
import type { ReloadPhases } from 'plugvisor';
import type { StateKind, StateTransfer } from './bench-plugins.js';
import type { OperationImpact } from './http-host.js';

export type Phases = ReloadPhases;

/**
 * How a state plugin is reloaded: its transfer mode, and where the caller's mutations land. A full
 * copy does not care where they land; a Float64Array is always sent whole (delta transfer tracks
 * top-level keys and Map entries, and a typed array read through its key counts as changed).
 */
export const RUNS = [
  { id: 'full', transfer: 'full', spread: false, label: 'full' },
  { id: 'delta', transfer: 'delta', spread: false, label: 'delta' },
  { id: 'delta-spread', transfer: 'delta', spread: true, label: 'delta, keys spread' },
] as const satisfies ReadonlyArray<{ id: string; transfer: StateTransfer; spread: boolean; label: string }>;
export type Run = (typeof RUNS)[number];
export type RunId = Run['id'];

export function runsOf(kind: StateKind): Run[] {
  return RUNS.filter((r) => !(kind === 'typed' && r.spread));
}

/** The phases of a reload, in order (ReloadResult.phases). */
export const PHASES: ReadonlyArray<keyof Phases> = ['prepare', 'validate', 'spawn', 'precopy', 'drain', 'detach', 'snapshot', 'activate', 'health', 'transfer', 'swap', 'dispose'];

export interface StateVariant {
  id: string;
  kind: StateKind;
  /** The size asked for; the serialised size measured is reported beside it. */
  nominalBytes: number;
  large: boolean;
}

export interface Plan {
  rounds: number;
  /** Reloads per run (transfer mode and key pattern) per round, for a small / a 50 MB state. */
  reloadsPerRound: { small: number; large: number };
  /** Calls each caller keeps outstanding. */
  window: number;
  lossReloads: number;
  lossCallers: number;
  /** TS plugin reloads without load, in lossBlocks slices interleaved with the loss test. */
  tsReloads: number;
  lossBlocks: number;
  /** Process restarts, and as many reloads, alternately. */
  restartOps: number;
  httpClients: number;
}

export interface ReloadSample {
  run: RunId;
  pauseMs: number;
  durationMs: number;
  phases: Phases;
  /** Bytes moved inside the pause (the snapshot, or the delta). */
  stateBytes: number;
  precopyBytes: number;
  /** The worst latency of the caller's calls that settled during the reload. */
  callerWorstMs: number;
  callerCalls: number;
}

export interface FloorSample {
  serializeMs: number;
  deserializeMs: number;
  transferMs: number;
  workerDeserializeMs: number;
  bytes: number;
}

/** What the report needs of one state plugin's run. */
export interface StateResult {
  variant: StateVariant;
  n: number;
  samples: ReloadSample[];
  floors: FloorSample[];
  /** The bare pause relay's pauses under the same load (the 1 MB Map only), ms. */
  relayPauses: number[];
  failures: string[];
}

export interface LossLedger {
  issued: number;
  answered: number;
  failed: number;
  neverAnswered: number;
  /** Answers whose (caller, seq) was not the call's. */
  misrouted: number;
  /** The plugin had already seen this seq or a later one: a call ran twice. */
  duplicated: number;
  /** The plugin had not seen seq - 1 yet: calls ran out of order. */
  reorderedInPlugin: number;
  /** Calls settled on the host out of issue order. */
  reorderedOnHost: number;
  /** A caller got an answer from an older version after a newer one. */
  versionRegressions: number;
  /** Sum over callers of (calls run, from the plugin's state) - (calls answered). */
  stateCountDiff: number;
  errors: string[];
}

export interface LossSample {
  mode: StateTransfer;
  pauseMs: number;
  durationMs: number;
  prepare: number;
  spawn: number;
  callerWorstMs: number;
}

export interface TsSample {
  durationMs: number;
  pauseMs: number;
  prepare: number;
  spawn: number;
  /** durationMs without dispose: when the new version serves (the old one is disposed after). */
  servingMs: number;
  wallMs: number;
}

export interface LossResult {
  ledger: LossLedger;
  lossSamples: LossSample[];
  lossFailures: number;
  lossFailureText: string[];
}

export interface RestartOp {
  kind: 'restart' | 'reload';
  impact: OperationImpact;
  /** restart: SIGTERM until exit, and spawn until ready; reload: the reload result. */
  stopMs?: number;
  startMs?: number;
  pauseMs?: number;
  durationMs?: number;
  totalMs: number;
}

export interface RestartResult {
  ops: RestartOp[];
  callsOk: number;
  callsFailed: number;
  callsInState: number;
  errors: Record<string, number>;
}
