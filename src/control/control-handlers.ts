/**
 * What each control method does on the host: a thin mapping onto the Supervisor and the
 * diagnostics. Parameters are checked here (they come from a socket); results are plain data.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { PlugvisorError } from '../errors.js';
import { analyzeDependencies } from '../diagnose/analyze-dependencies.js';
import { ALL_CHECKS, diagnosePlugin, type DiagnosisCheck } from '../diagnose/diagnose-plugin.js';
import { inspectPlugin } from '../diagnose/inspect-plugin.js';
import { testWatcher } from '../diagnose/test-watcher.js';
import { readManifest } from '../plugin/manifest.js';
import { resolvePluginDir, type LoadSource } from '../plugin/resolve-source.js';
import type { Supervisor } from '../supervisor.js';
import { runMonitor } from './call-monitor.js';
import type { RequestHandler, StreamContext } from './control-server.js';
import type { EventHistory } from './event-history.js';
import type { PluginWatches } from './plugin-watches.js';
import { MAX_PROFILE_RUNS, type ControlMethod, type ControlMethods, type HostStatus, type PluginListing } from './protocol.js';

export interface HostContext {
  watches: PluginWatches;
  history: EventHistory;
  status(): HostStatus;
}

type Handlers = { [M in ControlMethod]: (params: Record<string, unknown>, stream: StreamContext) => Promise<ControlMethods[M]['result']> | ControlMethods[M]['result'] };

export function createRequestHandler(sup: Supervisor, host: HostContext): RequestHandler {
  const handlers = createHandlers(sup, host);
  return async (method, params, stream) => handlers[method](params, stream);
}

function createHandlers(sup: Supervisor, host: HostContext): Handlers {
  return {
    status: () => host.status(),
    list: () => sup.list(),
    available: () => listAvailable(sup),
    async info(p) {
      const info = sup.info(str(p, 'name'));
      const health = await sup.health(info.name).catch((err: Error) => ({ ok: false, error: err.message }));
      return { ...info, ...(health === undefined ? {} : { health }) };
    },
    deps: (p) => sup.deps(str(p, 'name')),

    async load(p) {
      const path = optStr(p, 'path');
      const fromPackage = optStr(p, 'fromPackage');
      const expected = optStr(p, 'name');
      if ((path === undefined) === (fromPackage === undefined)) throw badArgs('load needs a path or fromPackage, not both');
      const source: LoadSource = path !== undefined ? path : { fromPackage: fromPackage!, ...(optStr(p, 'version') ? { version: optStr(p, 'version')! } : {}) };
      if (path !== undefined && expected !== undefined) {
        const actual = readManifest(resolvePluginDir(sup.root, path), { checkEngines: false }).name;
        if (actual !== expected) throw badArgs(`the plugin in ${path} is named "${actual}", not "${expected}"`);
      }
      const plugin = await sup.load(source);
      const watch = bool(p, 'watch');
      if (watch) await host.watches.keep(plugin.name, true);
      return { plugin: sup.info(plugin.name), watching: watch };
    },

    async reload(p) {
      const options = { force: bool(p, 'force'), backupState: bool(p, 'backupState') };
      if (bool(p, 'all')) return sup.reloadAll(options);
      return [await sup.reload(str(p, 'name'), options)];
    },

    async unload(p) {
      const { name, version } = sup.info(str(p, 'name'));
      await sup.unload(name);
      return { name, version };
    },

    async call(p) {
      const args = p['args'] ?? [];
      if (!Array.isArray(args)) throw invalid('"args" must be an array');
      const t0 = performance.now();
      const value = await sup.call(str(p, 'name'), str(p, 'command'), ...args);
      // null, not undefined: an undefined field would vanish from the answer (JSON has no undefined).
      return { value: value ?? null, text: inspect(value, { depth: 8, breakLength: 100 }), durationMs: performance.now() - t0 };
    },

    async profile(p, stream) {
      const name = str(p, 'name');
      const runs = num(p, 'runs') ?? 1;
      if (!Number.isInteger(runs) || runs < 1 || runs > MAX_PROFILE_RUNS) throw badArgs(`"runs" must be an integer from 1 to ${MAX_PROFILE_RUNS}`);
      sup.info(name);
      const results = [];
      for (let i = 0; i < runs; i++) {
        // A client that went away (Ctrl-C on `plugins profile --runs N`) or a host that is stopping
        // wants no more reloads: without this the host went on reloading the plugin (and its
        // dependents) for every remaining run, and a stop waited for them all.
        if (i > 0 && stream.signal.aborted) break;
        const result = await sup.reload(name, { force: bool(p, 'force') });
        results.push(result);
        if (!result.ok) break;
      }
      return results;
    },

    debug(p) {
      const checks = p['checks'] ?? [];
      if (!Array.isArray(checks) || checks.some((c) => !ALL_CHECKS.includes(c as DiagnosisCheck))) {
        throw invalid(`"checks" must be a list of ${ALL_CHECKS.join(', ')}`);
      }
      return diagnosePlugin(sup, str(p, 'name'), checks as DiagnosisCheck[]);
    },

    inspect(p) {
      const name = str(p, 'name');
      const verbose = bool(p, 'verbose');
      return inspectPlugin(sup, name, host.history.recent(name, verbose ? 50 : 10), verbose);
    },

    analyzeDeps: (p) => analyzeDependencies(sup, str(p, 'name')),

    devMode(p) {
      const enabled = p['enabled'];
      if (enabled !== undefined && typeof enabled !== 'boolean') throw invalid('"enabled" must be a boolean');
      const before = sup.config.developmentMode;
      const config = enabled === undefined ? sup.config : sup.setDevelopmentMode(enabled);
      return { developmentMode: config.developmentMode, logLevel: sup.log.level, changed: config.developmentMode !== before };
    },

    watcher: (p) => testWatcher(sup, {
      testEvents: bool(p, 'testEvents'),
      file: optStr(p, 'file'),
      plugin: optStr(p, 'plugin'),
      timeoutMs: num(p, 'timeoutMs'),
    }),

    monitor: (p, stream) => runMonitor(sup, { name: str(p, 'name'), intervalMs: num(p, 'intervalMs') ?? 1000, count: num(p, 'count') }, stream.emit, stream.signal),

    devWatch(p, stream) {
      const name = str(p, 'name');
      const count = num(p, 'count');
      let reloads = 0;
      return new Promise((resolve, reject) => {
        const held = new AbortController();
        const finish = (): void => {
          held.abort();
          resolve({ reloads });
        };
        stream.signal.addEventListener('abort', finish, { once: true });
        host.watches.hold(name, bool(p, 'autoReload'), (event) => {
          stream.emit(event);
          if (event.type === 'reload') reloads++;
          if (event.type === 'unloaded' || (count !== undefined && reloads >= count)) finish();
        }, held.signal).then((watching) => stream.emit(watching), (err: Error) => {
          held.abort();
          reject(err);
        });
      });
    },
  };
}

function listing(info: ReturnType<Supervisor['info']>): PluginListing {
  return { name: info.name, version: info.version, loaded: true, status: info.status, path: info.path, configured: false, ...(info.error ? { error: info.error } : {}) };
}

/** Loaded plugins, configured ones, and folders under plugins/ with a package.json. */
function listAvailable(sup: Supervisor): PluginListing[] {
  const byPath = new Map<string, PluginListing>();
  for (const info of sup.list()) byPath.set(info.path, listing(info));
  const configured = new Set<string>();
  const candidates: string[] = [];
  for (const source of sup.config.plugins) {
    try {
      const dir = resolvePluginDir(sup.root, source);
      configured.add(dir);
      candidates.push(dir);
    } catch (err) {
      const name = 'path' in source ? source.path : source.fromPackage;
      byPath.set(name, { name, version: undefined, loaded: false, status: 'missing', path: name, configured: true, error: (err as Error).message });
    }
  }
  const pluginsDir = join(sup.root, 'plugins');
  if (existsSync(pluginsDir)) {
    for (const entry of readdirSync(pluginsDir, { withFileTypes: true })) {
      if (entry.isDirectory() && existsSync(join(pluginsDir, entry.name, 'package.json'))) candidates.push(join(pluginsDir, entry.name));
    }
  }
  for (const dir of candidates) {
    const known = byPath.get(dir);
    if (known !== undefined) {
      known.configured ||= configured.has(dir);
      continue;
    }
    try {
      const m = readManifest(dir, { checkEngines: false });
      byPath.set(dir, { name: m.name, version: m.version, loaded: false, status: 'not loaded', path: dir, configured: configured.has(dir) });
    } catch (err) {
      byPath.set(dir, { name: dir.split('/').pop()!, version: undefined, loaded: false, status: 'invalid', path: dir, configured: configured.has(dir), error: (err as Error).message });
    }
  }
  return [...byPath.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function invalid(why: string): PlugvisorError {
  return new PlugvisorError('PLUGVISOR_CONTROL_REQUEST_INVALID', why);
}

function badArgs(why: string): PlugvisorError {
  return new PlugvisorError('PLUGVISOR_BAD_ARGUMENTS', why);
}

function str(p: Record<string, unknown>, key: string): string {
  const value = p[key];
  if (typeof value !== 'string' || value === '') throw invalid(`"${key}" must be a non-empty string`);
  return value;
}

function optStr(p: Record<string, unknown>, key: string): string | undefined {
  return p[key] === undefined || p[key] === null ? undefined : str(p, key);
}

function bool(p: Record<string, unknown>, key: string): boolean {
  const value = p[key];
  if (value !== undefined && typeof value !== 'boolean') throw invalid(`"${key}" must be a boolean`);
  return value === true;
}

function num(p: Record<string, unknown>, key: string): number | undefined {
  const value = p[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid(`"${key}" must be a non-negative number`);
  return value;
}
