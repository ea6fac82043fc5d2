/**
 * The plugin format: what a plugin's entry module exports by default. Shared by both sides: the
 * host re-exports it for plugin authors, the worker loads plugins against it.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { HealthReport } from './messages.js';

/** Proxies of the plugin's dependencies (`dependsOn`), by name: `ctx.plugins.store.get(key)`. */
export type PluginProxies = Record<string, Record<string, (...args: any[]) => Promise<any>>>;

export interface PluginContext<S = any, C = any> {
  readonly name: string;
  readonly version: string;
  /** The preserved state: carried to the next version on every reload. Mutate it in place or assign. */
  state: S;
  /** The plugin's validated config (from `plugvisor.config`), or undefined. */
  readonly config: C;
  readonly log: Logger;
  readonly plugins: PluginProxies;
}

export type PluginCommand<S = any, C = any> = (ctx: PluginContext<S, C>, ...args: any[]) => unknown;

export interface ConnectInfo {
  /** true when the channel was opened with an earlier version and handed over by a reload. */
  resumed: boolean;
}

export interface PluginDefinition<S = any, C = any, Cmds extends Record<string, PluginCommand<S, C>> = Record<string, PluginCommand<S, C>>> {
  /** Creates the state on first activation. */
  state?: () => S | Promise<S>;
  /** Runs in the new version with the old version's state, before it serves any call. */
  migrate?: (old: any, info: { fromVersion: string }) => S | Promise<S>;
  setup?: (ctx: PluginContext<S, C>) => void | Promise<void>;
  commands: Cmds;
  health?: (ctx: PluginContext<S, C>) => HealthReport | Promise<HealthReport>;
  connect?: (ctx: PluginContext<S, C>, port: MessagePort, info: ConnectInfo) => void | Promise<void>;
  /**
   * Optional: the plugin's config file changed and the new config passed its schema. With this
   * hook the config is delivered without a reload (ctx.config is the new one once it returns);
   * without it the plugin is reloaded. A throw refuses the config: the old one stays.
   */
  configChanged?: (ctx: PluginContext<S, C>, next: C) => void | Promise<void>;
  dispose?: (ctx: PluginContext<S, C>) => void | Promise<void>;
}

/** Only adds types: a plain object of the same shape works as a default export too. */
export function definePlugin<S = any, C = any, Cmds extends Record<string, PluginCommand<S, C>> = Record<string, PluginCommand<S, C>>>(
  definition: PluginDefinition<S, C, Cmds>,
): PluginDefinition<S, C, Cmds> {
  return definition;
}

/** The caller's view of a plugin's commands: the context argument dropped, results as promises. */
export type CommandsOf<D> = D extends PluginDefinition<any, any, infer Cmds>
  ? { [K in keyof Cmds]: Cmds[K] extends (ctx: any, ...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never }
  : never;
