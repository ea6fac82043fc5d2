import type { PlugvisorError } from '../errors.js';

/** Where a reload failed; `error.step` carries the same value. */
export type ReloadStep =
  | 'manifest' | 'compile' | 'config' | 'validate' | 'load'
  | 'precopy' | 'drain' | 'detach' | 'snapshot' | 'restore' | 'migrate' | 'state' | 'setup' | 'activate' | 'health' | 'transfer'
  | 'start';

/** Milliseconds spent in each phase; the pause covers drain … swap. */
export interface ReloadPhases {
  prepare: number;
  validate: number;
  spawn: number;
  /** Delta transfer: the full copy made while the old version still serves. */
  precopy: number;
  drain: number;
  detach: number;
  snapshot: number;
  activate: number;
  health: number;
  transfer: number;
  swap: number;
  dispose: number;
}

export interface ReloadResult {
  ok: boolean;
  plugin: string;
  fromVersion: string;
  toVersion: string;
  durationMs: number;
  /** How long new calls to the plugin were held on the host. */
  pauseMs: number;
  rolledBack: boolean;
  /** Bytes of state carried to the new version inside the pause (the delta, with delta transfer). */
  stateBytes: number;
  /** Delta transfer: bytes copied before the pause. */
  precopyBytes: number;
  phases: ReloadPhases;
  /** Every plugin of the transaction, in the order they were reloaded (the plugin, then its dependents). */
  reloaded: string[];
  error?: PlugvisorError & { step: ReloadStep };
  /** With backupState: the file holding the state as it was before the reload. */
  backupFile?: string;
}

export interface ReloadOptions {
  /** Skip validation (engines, dependency ranges, health); never the rollback. */
  force?: boolean;
  /** Write the state to disk before the swap and after it, whatever reload.backup_state says. */
  backupState?: boolean;
}
