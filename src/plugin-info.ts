/** What list() and info() report about a plugin. */
export interface PluginInfo {
  name: string;
  version: string;
  status: string;
  activation: 'eager' | 'lazy';
  pooled: boolean;
  path: string;
  entry: string;
  /** The compiled JavaScript the worker runs (source-mapped to `entry`). */
  module: string;
  commands: string[] | undefined;
  dependsOn: Record<string, string>;
  dependents: string[];
  generation: number;
  lastLoaded: string | undefined;
  reloadCount: number;
  stats: { calls: number; errors: number; timeouts: number; lateReplies: number; restarts: number; pending: number };
  error?: string;
}

export interface DependencyInfo {
  name: string;
  /** Direct dependencies with their ranges and the loaded versions that satisfy them. */
  dependsOn: Array<{ name: string; range: string; loadedVersion: string | undefined; satisfied: boolean }>;
  /** Plugins that depend on this one, directly or not, in reload order. */
  dependents: string[];
}
