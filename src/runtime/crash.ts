import { PlugvisorError } from '../errors.js';
import { fromWireError, toWireError } from '../protocol/wire-error.js';

/** Why a worker was replaced (contract: `reason` of PLUGVISOR_PLUGIN_CRASHED). */
export type CrashReason = 'exit' | 'oom' | 'uncaught' | 'unresponsive';

export interface WorkerDeath {
  reason: CrashReason;
  exitCode?: number;
  error?: Error;
}

export function crashedError(plugin: string, death: WorkerDeath, what: string): PlugvisorError {
  const why = {
    // A restart that failed to start carries the start's error: that is the reason worth reading.
    exit: `its worker exited${death.exitCode === undefined ? '' : ` with code ${death.exitCode}`}${death.error === undefined ? '' : `: ${death.error.message}`}`,
    oom: 'its worker ran out of memory',
    uncaught: `its worker died of an uncaught error: ${death.error?.message ?? 'unknown'}`,
    unresponsive: 'its worker stopped answering and was terminated',
  }[death.reason];
  return new PlugvisorError('PLUGVISOR_PLUGIN_CRASHED', `plugin "${plugin}": ${what} failed because ${why}`, {
    plugin,
    reason: death.reason,
    exitCode: death.exitCode,
    cause: death.error,
  });
}

/**
 * A worker's uncaught value as it was thrown: `throw null` in a plugin's timer reaches the host as
 * null (or undefined), and reading its `code` in the host's own thread would end the host.
 */
export function asError(thrown: unknown): Error & { code?: unknown } {
  return thrown instanceof Error ? thrown : fromWireError(toWireError(thrown), undefined);
}
