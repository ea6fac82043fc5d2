/** The JSON shapes of CONTRACT section 5, cut from PluginInfo. */
import type { PluginInfo } from '../plugin-info.js';
import type { HealthReport } from '../protocol/messages.js';

export function pluginSummary(p: PluginInfo) {
  return { name: p.name, version: p.version, status: p.status, lastLoaded: p.lastLoaded ?? null, reloadCount: p.reloadCount, activation: p.activation, pooled: p.pooled };
}

export function pluginStatus(p: PluginInfo, health: HealthReport | undefined) {
  return {
    ...pluginSummary(p),
    health: health ?? null,
    commands: p.commands ?? null,
    dependsOn: p.dependsOn,
    dependents: p.dependents,
    generation: p.generation,
    stats: p.stats,
    ...(p.error === undefined ? {} : { error: p.error }),
  };
}
