import type { PluginInfo } from '../plugin-info.js';
import type { SupervisorStatus } from '../supervisor.js';

/** Statuses in which a plugin answers calls (during a reload the old version serves until the swap). */
const SERVING = new Set(['serving', 'reloading']);

export interface Readiness {
  ready: boolean;
  /** Why not: the supervisor's status when it is not running, else one line per eager plugin that is not serving and per configured plugin that did not load. */
  reasons: string[];
}

/**
 * Ready when the supervisor is running and every eager plugin is serving; lazy plugins start on
 * their first call and do not count. The supervisor's status comes first: while start() runs (the
 * dev server listens before it, see run-host.ts) the eager plugins not loaded yet are not in the
 * list at all, so an empty or partial list must not read as ready. For the same reason a configured
 * plugin kept aside because it failed to load (reload_on_import_error) counts: it is in no list either.
 */
export function readiness(supervisor: SupervisorStatus, plugins: ReadonlyArray<Pick<PluginInfo, 'name' | 'activation' | 'status' | 'error'>>, broken: ReadonlyArray<{ dir: string; error: string }> = []): Readiness {
  if (supervisor !== 'running') return { ready: false, reasons: [supervisor === 'new' ? 'the supervisor has not been started' : `the supervisor is ${supervisor}`] };
  const reasons = [
    ...plugins.filter((p) => p.activation === 'eager' && !SERVING.has(p.status)).map((p) => `${p.name} is ${p.status}${p.error === undefined ? '' : `: ${p.error}`}`),
    ...broken.map((b) => `${b.dir} did not load: ${b.error}`),
  ];
  return { ready: reasons.length === 0, reasons };
}
