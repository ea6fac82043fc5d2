/**
 * The control channel between a running host and the `plugvisor` CLI: one JSON object per line
 * over a Unix socket (see control-server.ts for where it lives and who may open it).
 *
 *   client ── { id, method, params } ──────────────────────────▶ host
 *   client ◀─ { id, ok: true, result } | { id, ok: false, error } ─ host   (one per request)
 *   client ◀─ { id, event } … then the final answer ─────────────── host   (stream methods)
 *
 * Every method's parameters, result and (for streams) events are written once, in ControlMethods.
 * Results and events are written as toJsonValue() (src/json-value.ts) says, as the HTTP API writes
 * them: a Map, a BigInt, NaN or an Error reads the same on both. A client ends a stream by closing its
 * connection.
 */
import { errorToJson } from '../json-value.js';
import type { DependencyInfo, PluginInfo } from '../plugin-info.js';
import type { HealthReport } from '../protocol/messages.js';
import type { ReloadResult } from '../reload/reload-result.js';
import type { DependencyAnalysis } from '../diagnose/analyze-dependencies.js';
import type { Diagnosis, DiagnosisCheck } from '../diagnose/diagnose-plugin.js';
import type { PluginInspection } from '../diagnose/inspect-plugin.js';
import type { WatcherReport } from '../diagnose/test-watcher.js';
import type { MonitorSample } from './call-monitor.js';
import type { DevWatchEvent } from './plugin-watches.js';

export const CONTROL_PROTOCOL_VERSION = 1;

/** The most reloads one profile request runs: each is a whole reload transaction of the plugin and its dependents. */
export const MAX_PROFILE_RUNS = 100;

export interface HostStatus {
  protocol: typeof CONTROL_PROTOCOL_VERSION;
  version: string;
  pid: number;
  root: string;
  configFile: string | undefined;
  /**
   * The config file was read once at start (dev server --hot-reload over a file that does not turn
   * watching on): its later changes are not applied live.
   */
  configReadOnce: boolean;
  socket: string;
  startedAt: string;
  uptimeSeconds: number;
  developmentMode: boolean;
  logLevel: string;
  /** The host's own watcher (watch.enabled). */
  watching: boolean;
  automaticReload: boolean;
  /** Plugins watched one by one (plugins dev, load --watch). */
  pluginWatches: string[];
  /** The HTTP dev server, when this host runs one. */
  httpUrl: string | undefined;
  /** The supervisor is still loading its configured plugins: other requests wait for it. */
  starting: boolean;
}

/** A plugin the host knows of: loaded, configured, or a folder under plugins/. */
export interface PluginListing {
  name: string;
  version: string | undefined;
  loaded: boolean;
  status: string;
  path: string;
  configured: boolean;
  error?: string;
}

/** A command's result: as JSON, and as a reader would want to see it (Map, undefined, BigInt kept). */
export interface CallOutcome {
  value: unknown;
  text: string;
  durationMs: number;
}

export interface LoadResult {
  plugin: PluginInfo;
  watching: boolean;
}

export interface ControlMethods {
  status: { params: Record<string, never>; result: HostStatus };
  list: { params: Record<string, never>; result: PluginInfo[] };
  available: { params: Record<string, never>; result: PluginListing[] };
  info: { params: { name: string }; result: PluginInfo & { health?: HealthReport } };
  deps: { params: { name: string }; result: DependencyInfo };
  load: { params: { path?: string; fromPackage?: string; version?: string; name?: string; watch?: boolean }; result: LoadResult };
  reload: { params: { name?: string; all?: boolean; force?: boolean; backupState?: boolean }; result: ReloadResult[] };
  unload: { params: { name: string }; result: { name: string; version: string } };
  call: { params: { name: string; command: string; args: unknown[] }; result: CallOutcome };
  profile: { params: { name: string; runs: number; force?: boolean }; result: ReloadResult[] };
  debug: { params: { name: string; checks: DiagnosisCheck[] }; result: Diagnosis };
  inspect: { params: { name: string; verbose: boolean }; result: PluginInspection };
  analyzeDeps: { params: { name: string }; result: DependencyAnalysis };
  devMode: { params: { enabled?: boolean }; result: { developmentMode: boolean; logLevel: string; changed: boolean } };
  watcher: { params: { testEvents: boolean; file?: string; plugin?: string; timeoutMs?: number }; result: WatcherReport };
  monitor: { params: { name: string; intervalMs: number; count?: number }; result: { samples: number }; event: MonitorSample };
  devWatch: { params: { name: string; autoReload: boolean; count?: number }; result: { reloads: number }; event: DevWatchEvent };
}

export type ControlMethod = keyof ControlMethods;
export type ParamsOf<M extends ControlMethod> = ControlMethods[M]['params'];
export type ResultOf<M extends ControlMethod> = ControlMethods[M]['result'];
export type EventOf<M extends ControlMethod> = ControlMethods[M] extends { event: infer E } ? E : never;

export const STREAM_METHODS: ReadonlySet<ControlMethod> = new Set<ControlMethod>(['monitor', 'devWatch']);
export const CONTROL_METHODS: ReadonlySet<string> = new Set<ControlMethod>([
  'status', 'list', 'available', 'info', 'deps', 'load', 'reload', 'unload', 'call', 'profile', 'debug', 'inspect', 'analyzeDeps', 'devMode', 'watcher', 'monitor', 'devWatch',
]);

export interface ControlRequest<M extends ControlMethod = ControlMethod> {
  id: number;
  method: M;
  params: ParamsOf<M>;
}

/** An error as it crosses the channel: always a code (PLUGVISOR_* or the plugin's own). */
export interface ControlError {
  code: string;
  message: string;
  name?: string;
  [field: string]: unknown;
}

export type ControlResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: ControlError }
  | { id: number; event: unknown };

/** An error thrown on the host, as the client will see it: its code first. */
export function toControlError(err: unknown): ControlError {
  if (!(err instanceof Error)) return { code: 'PLUGVISOR_COMMAND_FAILED', message: String(err) };
  const json = errorToJson(err);
  const code = typeof json['code'] === 'string' ? json['code'] : 'PLUGVISOR_COMMAND_FAILED';
  return { ...json, code, message: err.message };
}

/** The client side of toControlError: an Error with the code and fields the host sent. */
export function fromControlError(error: ControlError): Error & { code: string } {
  const { message, name, ...fields } = error;
  const err = Object.assign(new Error(message), fields) as Error & { code: string };
  if (typeof name === 'string') Object.defineProperty(err, 'name', { value: name, enumerable: false, configurable: true, writable: true });
  return err;
}
