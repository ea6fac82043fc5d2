/**
 * Watching one plugin at a time (`plugins dev NAME --watch --auto-reload`, `plugins load --watch`),
 * whatever watch.enabled says for the host.
 *
 *   host watches (watch.enabled)?  yes ─▶ follow its 'change' events for the plugin; reload on
 *                                         them only when reload.automatic is off (or it would
 *                                         reload twice)
 *                                  no ──▶ a PluginWatcher of our own on the plugin's folder (and its
 *                                         config files, and the files it is made of outside the
 *                                         folder), batches become sup.reload(name)
 *   either way, the supervisor's 'reload' and 'rollback' events for the plugin are relayed.
 *
 * A session lives while someone holds it: a `plugins dev` client (until it disconnects), or the
 * plugin itself after `load --watch` (until it is unloaded).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import picomatch from 'picomatch';
import { readManifest } from '../plugin/manifest.js';
import type { Supervisor } from '../supervisor.js';
import { PluginWatcher } from '../watch/plugin-watcher.js';

export type DevWatchEvent =
  | { type: 'watching'; plugin: string; dir: string; files: number; watcher: 'host' | 'own'; autoReload: boolean }
  | { type: 'change'; plugin: string; files: string[]; action: string }
  | { type: 'reload'; plugin: string; ok: true; fromVersion: string; toVersion: string; durationMs: number; pauseMs: number }
  | { type: 'reload'; plugin: string; ok: false; step: string; error: string; code?: string }
  | { type: 'unloaded'; plugin: string };

const SOURCE_PATTERNS = ['**/*.{ts,mts,cts,js,mjs,cjs,json,yaml,yml}'];
const IGNORE = ['**/node_modules/**', '**/.*', '**/.*/**', '**/*.test.*', '**/test/**'];

type Listener = (event: DevWatchEvent) => void;

interface Hold {
  autoReload: boolean;
  listener?: Listener;
}

class WatchSession {
  readonly plugin: string;
  readonly holds = new Set<Hold>();
  persistent = false;
  readonly #sup: Supervisor;
  readonly #log: Logger;
  #watcher: PluginWatcher | undefined;
  #files = 0;
  #detach: () => void = () => undefined;
  #reloading = false;

  constructor(sup: Supervisor, log: Logger, plugin: string) {
    this.#sup = sup;
    this.#log = log;
    this.plugin = plugin;
  }

  get autoReload(): boolean {
    return [...this.holds].some((h) => h.autoReload);
  }

  get mode(): 'host' | 'own' {
    return this.#watcher === undefined ? 'host' : 'own';
  }

  get files(): number {
    return this.#files;
  }

  async start(): Promise<void> {
    const sup = this.#sup;
    const name = this.plugin;
    const dir = sup.info(name).path;
    const onChange = (e: { plugin: string; files: string[]; action: string }): void => {
      if (e.plugin !== name) return;
      this.#emit({ type: 'change', plugin: name, files: e.files, action: e.action });
      if (e.action === 'none' && this.autoReload) void this.#reload();
    };
    const onReload = (e: { plugin: string; fromVersion: string; toVersion: string; durationMs: number; pauseMs: number }): void => {
      if (e.plugin === name) this.#emit({ type: 'reload', ok: true, ...e });
    };
    const onRollback = (e: { plugin: string; step: string; error: string }): void => {
      if (e.plugin === name) this.#emit({ type: 'reload', ok: false, ...e });
    };
    const onUnload = (e: { plugin: string }): void => {
      if (e.plugin === name) this.#emit({ type: 'unloaded', plugin: name });
    };
    sup.on('reload', onReload);
    sup.on('rollback', onRollback);
    sup.on('unload', onUnload);
    const hostWatches = sup.watcher !== undefined;
    if (hostWatches) sup.on('change', onChange);
    this.#detach = () => {
      sup.off('reload', onReload);
      sup.off('rollback', onRollback);
      sup.off('unload', onUnload);
      sup.off('change', onChange);
    };
    if (hostWatches) {
      this.#files = [...listSources(dir)].filter((f) => sup.watcher!.pluginsOf(f).includes(name)).length;
      return;
    }
    const watcher = new PluginWatcher({
      root: dir,
      patterns: SOURCE_PATTERNS,
      ignore: IGNORE,
      cooldownMs: sup.config.safety.cooldownSeconds * 1000,
      log: this.#log,
      targets: () => {
        // Its files outside its folder too (a shared helper, the project's tsconfig.json).
        const own = sup.watchTarget(name);
        const files = [...new Set([...listSources(dir), ...configFiles(dir), ...(own?.files ?? [])])];
        this.#files = files.filter((f) => existsSync(f)).length;
        return [{ name, dir, files, packages: own?.packages }];
      },
      onBatch: async (batch) => {
        const action = this.autoReload ? 'reload' : 'none';
        this.#emit({ type: 'change', plugin: name, files: batch.files, action });
        if (this.autoReload) await this.#reload();
        await watcher.refresh();
      },
    });
    this.#watcher = watcher;
    await watcher.start();
  }

  async close(): Promise<void> {
    this.#detach();
    await this.#watcher?.close();
  }

  #emit(event: DevWatchEvent): void {
    for (const hold of this.holds) hold.listener?.(event);
  }

  async #reload(): Promise<void> {
    if (this.#reloading) return;
    this.#reloading = true;
    try {
      // The outcome arrives as the supervisor's reload or rollback event.
      await this.#sup.reload(this.plugin);
    } catch (err) {
      this.#emit({ type: 'reload', plugin: this.plugin, ok: false, step: 'start', error: (err as Error).message, code: (err as { code?: string }).code });
    } finally {
      this.#reloading = false;
    }
  }
}

export class PluginWatches {
  readonly #sup: Supervisor;
  readonly #log: Logger;
  readonly #sessions = new Map<string, Promise<WatchSession>>();
  readonly #onUnload: (e: { plugin: string }) => void;

  constructor(sup: Supervisor, log: Logger) {
    this.#sup = sup;
    this.#log = log;
    this.#onUnload = (e) => void this.#end(e.plugin);
    sup.on('unload', this.#onUnload);
  }

  /** Plugins watched one by one right now. */
  names(): string[] {
    return [...this.#sessions.keys()];
  }

  /** Keep `name` watched until the plugin is unloaded (load --watch). */
  async keep(name: string, autoReload: boolean): Promise<void> {
    const session = await this.#session(name);
    session.persistent = true;
    session.holds.add({ autoReload });
  }

  /**
   * Watch `name` while `signal` is not aborted, reporting to `listener`. Resolves the session's
   * description once watching; the hold ends with the signal.
   */
  async hold(name: string, autoReload: boolean, listener: Listener, signal: AbortSignal): Promise<DevWatchEvent> {
    const session = await this.#session(name);
    const hold: Hold = { autoReload, listener };
    session.holds.add(hold);
    const release = (): void => {
      session.holds.delete(hold);
      if (session.holds.size === 0 && !session.persistent) void this.#end(name);
    };
    if (signal.aborted) release();
    else signal.addEventListener('abort', release, { once: true });
    return { type: 'watching', plugin: name, dir: this.#sup.info(name).path, files: session.files, watcher: session.mode, autoReload: session.autoReload };
  }

  async close(): Promise<void> {
    this.#sup.off('unload', this.#onUnload);
    await Promise.all(this.names().map((name) => this.#end(name)));
  }

  #session(name: string): Promise<WatchSession> {
    this.#sup.info(name); // PLUGVISOR_PLUGIN_NOT_FOUND
    let session = this.#sessions.get(name);
    if (session === undefined) {
      const s = new WatchSession(this.#sup, this.#log, name);
      session = s.start().then(() => s);
      this.#sessions.set(name, session);
      session.catch(() => this.#sessions.delete(name));
    }
    return session;
  }

  async #end(name: string): Promise<void> {
    const session = this.#sessions.get(name);
    if (session === undefined) return;
    this.#sessions.delete(name);
    await (await session.catch(() => undefined))?.close();
  }
}

/** The plugin's own source files, as the watcher's patterns see them. */
function* listSources(dir: string): Generator<string> {
  const included = picomatch(SOURCE_PATTERNS, { dot: true });
  const ignored = picomatch(IGNORE, { dot: true });
  const walk = function* (folder: string): Generator<string> {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const abs = join(folder, entry.name);
      const rel = relative(dir, abs);
      if (ignored(rel) || (entry.isDirectory() && ignored(`${rel}/x`))) continue;
      if (entry.isDirectory()) yield* walk(abs);
      else if (included(rel)) yield abs;
    }
  };
  yield* walk(dir);
}

function configFiles(dir: string): string[] {
  try {
    const m = readManifest(dir, { checkEngines: false });
    return [m.configFile, m.configSchemaFile].filter((f): f is string => f !== undefined);
  } catch {
    return [];
  }
}
