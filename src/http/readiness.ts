import type { PluginInfo } from '../plugin-info.js';

/** Statuses in which a plugin answers calls (during a reload the old version serves until the swap). */
const SERVING = new Set(['serving', 'reloading']);

export interface Readiness {
  ready: boolean;
  /** One line per eager plugin that is not serving. */
  reasons: string[];
}

/** Ready when every eager plugin is serving; lazy plugins start on their first call and do not count. */
export function readiness(plugins: ReadonlyArray<Pick<PluginInfo, 'name' | 'activation' | 'status' | 'error'>>): Readiness {
  const reasons = plugins
    .filter((p) => p.activation === 'eager' && !SERVING.has(p.status))
    .map((p) => `${p.name} is ${p.status}${p.error === undefined ? '' : `: ${p.error}`}`);
  return { ready: reasons.length === 0, reasons };
}
