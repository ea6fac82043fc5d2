/**
 * A host in the foreground (`plugvisor start`, `plugvisor dev server`): the control channel first
 * (so a second host for the same project is refused before it starts any plugin), then whatever
 * the command adds (the HTTP server: a busy port is refused before any plugin starts too), then
 * the supervisor. A start that fails closes both again.
 *
 * The first SIGINT/SIGTERM stops gracefully and exits 0:
 *   HTTP server closed (its requests in flight answered) ─▶ control channel drained: new requests
 *   refused, the ones in flight answered (a CLI call that ran must not look failed) ─▶ supervisor
 *   stopped (drains the plugins' calls, disposes them) ─▶ control channel closed.
 * Requests still running after reload.timeout (HTTP and control alike) are answered by the
 * supervisor's stop, with the error of the call it ended.
 * A second signal exits at once with 128 + the signal's number (130, 143), abandoning what runs.
 */
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ControlChannel } from '../control/control-channel.js';
import type { Supervisor } from '../supervisor.js';
import { PlugvisorError } from '../errors.js';
import { settlesWithin } from '../settles-within.js';
import { exitWithError } from './output.js';

export const DEFAULT_CONFIG = 'config/hot-loading.yaml';

export interface HostRunOptions {
  /** The config file, relative to the current folder; undefined: DEFAULT_CONFIG, or the defaults when it is absent. */
  config: string | undefined;
  devMode: boolean;
  /** Watch files and reload automatically, whatever the config says (dev server --hot-reload). */
  hotReload?: boolean;
  /**
   * Opened before the supervisor starts, so that what can refuse the host (a port in use) does so
   * before any plugin's setup() runs; what it serves must therefore cope with a supervisor still
   * starting (sup.status). The returned function is called first at shutdown, and when start() fails.
   */
  extras?(sup: Supervisor, channel: ControlChannel): Promise<() => Promise<void>>;
}

/** The --config a user gave, or undefined when it is commander's default. */
export function configGiven(command: Command): string | undefined {
  return command.getOptionValueSource('config') === 'default' ? undefined : command.opts<{ config: string }>().config;
}

export async function runHost(options: HostRunOptions): Promise<void> {
  const [{ Supervisor }, { ControlChannel }] = await Promise.all([import('../supervisor.js'), import('../control/control-channel.js')]);
  const file = resolve(process.cwd(), options.config ?? DEFAULT_CONFIG);
  // Only a file named on the command line must exist; without one a project runs on the defaults.
  const absentDefault = options.config === undefined && !existsSync(file);
  if (options.config !== undefined && !existsSync(file)) {
    exitWithError(new PlugvisorError('PLUGVISOR_CONFIG_NOT_FOUND', `config file ${file} does not exist`, { file }));
  }
  const config = options.hotReload === true ? await withWatching(file, process.cwd()) : absentDefault ? {} : file;
  const readOnceFrom = typeof config !== 'string' && existsSync(file) ? file : undefined;
  const sup = new Supervisor({ root: process.cwd(), config });
  if (absentDefault) sup.log.info({ file }, 'no config file: running with the default settings and no plugins configured');
  // Switched on this way, development mode keeps the config file: its changes still apply live.
  if (options.devMode) sup.setDevelopmentMode(true);
  if (readOnceFrom !== undefined) {
    sup.log.warn({ file }, '--hot-reload forces watching on: the config file is read once (set watch.enabled: true in it to have its changes applied while running)');
  }
  let channel: ControlChannel | undefined;
  let closeExtras: (() => Promise<void>) | undefined;
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) forceExit(sup, channel, signal);
    stopping = true;
    sup.log.info({ signal }, 'stopping: draining the requests and calls in flight (a second Ctrl-C or SIGTERM forces the exit)');
    (async () => {
      const extrasClosed = closeExtras?.();
      await closeWithin(sup, extrasClosed);
      await drainChannel(sup, channel);
      await sup.stop();
      await extrasClosed;
      await channel?.close();
    })().then(() => process.exit(0), exitWithError);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  try {
    channel = await ControlChannel.open(sup);
    channel.configReadOnceFrom = readOnceFrom;
    if (options.extras !== undefined) closeExtras = await options.extras(sup, channel);
    const starting = sup.start();
    channel.holdUntil(starting);
    await starting;
  } catch (err) {
    await closeExtras?.().catch(() => undefined);
    await channel?.close().catch(() => undefined);
    // Refused before anything started (another host answers): nothing to stop.
    if (channel !== undefined) await sup.stop().catch(() => undefined);
    exitWithError(err);
  }
  // Keep the process alive until a signal arrives, even if no plugin holds a worker open.
  setInterval(() => undefined, 1 << 30);
}

/**
 * Let the HTTP server close, which waits for its requests in flight, within reload.timeout; say
 * when it did not. A request still running then waits for a plugin call that the supervisor's stop
 * ends, which answers it.
 */
async function closeWithin(sup: Supervisor, closed: Promise<void> | undefined): Promise<void> {
  if (closed === undefined) return;
  const timeoutMs = sup.config.reload.timeoutSeconds * 1000;
  if (!(await settlesWithin(closed, timeoutMs))) sup.log.warn({ timeoutMs }, 'HTTP requests still running after reload.timeout: stopping the plugins under them');
}

/** Let the control requests in flight finish and answer, within reload.timeout; say when some did not. */
async function drainChannel(sup: Supervisor, channel: ControlChannel | undefined): Promise<void> {
  if (channel === undefined) return;
  const timeoutMs = sup.config.reload.timeoutSeconds * 1000;
  const unanswered = await channel.drain(timeoutMs);
  if (unanswered > 0) sup.log.warn({ requests: unanswered, timeoutMs }, 'control requests still running after reload.timeout: stopping the plugins under them');
}

/** The second signal: no more waiting. The exit status says which signal ended the host, as a shell does. */
function forceExit(sup: Supervisor, channel: ControlChannel | undefined, signal: NodeJS.Signals): never {
  sup.log.warn({ signal, calls: pendingCalls(sup), requests: channel?.inFlight ?? 0 }, 'second signal: exiting now; calls in flight were abandoned');
  channel?.destroy();
  process.exit(128 + (constants.signals[signal] ?? 0));
}

/** Calls the plugins have not answered yet (0 once the supervisor has let go of them). */
function pendingCalls(sup: Supervisor): number {
  try {
    return sup.list().reduce((n, p) => n + p.stats.pending, 0);
  } catch {
    return 0;
  }
}

/** The config with watching and automatic reloads on (the file's other settings kept). */
async function withWatching(file: string, root: string): Promise<string | Record<string, unknown>> {
  const { readConfigFile, resolveConfigObject } = await import('../config/resolve-config.js');
  const raw = (existsSync(file) ? readConfigFile(file) ?? {} : {}) as { hot_loading?: Record<string, any> };
  // Checked as the file it is first: once turned into an object, its errors would name a
  // "config object" instead of the file and key the user has to fix.
  if (existsSync(file)) resolveConfigObject(root, raw, file);
  const h = raw.hot_loading ?? {};
  if (h.watch?.enabled === true && h.reload?.automatic !== false) return file;
  return { ...raw, hot_loading: { ...h, watch: { ...(h.watch ?? {}), enabled: true }, reload: { ...(h.reload ?? {}), automatic: true } } };
}
