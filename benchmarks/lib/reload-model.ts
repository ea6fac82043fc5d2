/**
 * The reload scope's vocabulary, shared by the measuring (reload.ts) and the reporting
 * (reload-report.ts): the state variants and runs, the plan, and the shape of every sample.
 */
import type { ReloadPhases } from 'plugvisor';
import type { StateKind, StateTransfer } from './bench-plugins.js';
import type { OperationImpact } from './http-host.js';

export type Phases = ReloadPhases;

/**
 * Who calls while a reload runs: `hot` keeps the window full, each call mutating hot entries;
 * `spread` the same, with the entries anywhere in the state; `paced` issues hot-entry calls at
 * PACED_CALLS_PER_SEC, leaving the CPUs idle between them.
 */
export type CallerKind = 'hot' | 'spread' | 'paced';
export const PACED_CALLS_PER_SEC = 5_000;

/**
 * How a state plugin is reloaded: its transfer mode, and who calls meanwhile. A full copy does not
 * care where the mutations land; a Float64Array is always sent whole below 4 MB (delta transfer
 * tracks top-level keys and Map entries, and a typed array read through its key counts as changed).
 */
export const RUNS = [
  { id: 'full', transfer: 'full', caller: 'hot', label: 'full' },
  { id: 'delta', transfer: 'delta', caller: 'hot', label: 'delta' },
  { id: 'delta-spread', transfer: 'delta', caller: 'spread', label: 'delta, keys spread' },
  { id: 'delta-paced', transfer: 'delta', caller: 'paced', label: 'delta, paced caller' },
] as const satisfies ReadonlyArray<{ id: string; transfer: StateTransfer; caller: CallerKind; label: string }>;
export type Run = (typeof RUNS)[number];
export type RunId = Run['id'];

/** Keys spread only for a Map (a typed array has no entries to spread over); the paced caller on the 1 MB states. */
export function runsOf(variant: { kind: StateKind; nominalBytes: number }): Run[] {
  return RUNS.filter((r) => !(variant.kind === 'typed' && r.caller === 'spread') && !(r.caller === 'paced' && variant.nominalBytes !== 1024 ** 2));
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
  /** The bare pause relay's pauses under the same load (the 1 MB Map only), ms: the window kept full, and paced. */
  relayPauses: number[];
  relayPacedPauses: number[];
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

/**
 * How the TS plugin's reloads come: saves a user makes (SAVE_GAP_MS apart: the spare worker is
 * ready), a burst of reloads back to back (the spare is still starting), or saves with
 * reload.spare_worker off.
 */
export type TsReloads = 'saves' | 'burst' | 'no-spare';
export const TS_RELOADS: readonly TsReloads[] = ['saves', 'burst', 'no-spare'];
/** Between two saves in the TS plugin runs: a person editing does not save faster. */
export const SAVE_GAP_MS = 500;

export interface TsSample {
  how: TsReloads;
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
