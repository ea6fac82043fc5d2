/**
 * What the supervisor needs from a loaded plugin, whichever way it runs: one worker of its own
 * (PluginRuntime) or a pool of threads for a stateless plugin (PoolRuntime).
 */
import type { PluginShape } from '../protocol/messages.js';
import type { PluginManifest } from '../plugin/manifest.js';
import type { CallStats, PluginBuild, PluginStatus } from './plugin-runtime.js';
import type { WorkerTransport } from './worker-transport.js';

export interface ManagedPlugin {
  readonly name: string;
  readonly status: PluginStatus;
  readonly manifest: PluginManifest;
  readonly build: PluginBuild;
  /** The plugin's commands and hooks, known once it has started. */
  readonly shape: PluginShape | undefined;
  readonly generation: number;
  readonly lastLoaded: Date | undefined;
  readonly reloadCount: number;
  /** Why the plugin is `failed`, when it is. */
  readonly failure: Error | undefined;
  readonly stats: CallStats;
  readonly pendingCalls: number;
  /** The single worker's channel (dependency wiring, management requests); undefined for a pool. */
  readonly transport: WorkerTransport | undefined;
  /**
   * The live workers with a channel to `dependency`: the running one, and one being activated (a
   * reload's new worker, a start): a restarted dependency re-wires them all. None for a pool.
   */
  workersWiredTo(dependency: string): WorkerTransport[];
  /** Start now (eager activation), or on the first call (lazy). Concurrent callers share one start. */
  ensureStarted(): Promise<void>;
  call(command: string, args: unknown[]): Promise<unknown>;
  /**
   * New code for a plugin that is not running in a worker right now (lazy and not started, failed,
   * restarting) or that runs in a pool: it takes effect at the next start, which is now unless the
   * plugin is lazy and was never started.
   */
  replaceBuild(build: PluginBuild): Promise<void>;
  /** Drain calls in flight (bounded by timeoutMs), dispose, end the thread(s). Safe to call twice. */
  stop(timeoutMs: number): Promise<void>;
}
