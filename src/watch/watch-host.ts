/**
 * What the development loop needs from the supervisor, in one place: the files each plugin is made
 * of, plugins kept aside because they failed to load (reload_on_import_error), config delivery,
 * hot-loading.yaml applied while running, and the loop's own start, restart and close.
 */
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/config-schema.js';
import { resolveConfig } from '../config/resolve-config.js';
import { entryCandidates, type PluginManifest } from '../plugin/manifest.js';
import { filesOfPlugin } from '../plugin/plugin-made-of.js';
import { loadPluginConfig } from '../plugin/plugin-config.js';
import { resolvePluginDir, type LoadSource } from '../plugin/resolve-source.js';
import type { ReloadResult } from '../reload/reload-result.js';
import type { ManagedPlugin } from '../runtime/managed-plugin.js';
import { PluginRuntime } from '../runtime/plugin-runtime.js';
import type { SupervisorEventMap } from '../supervisor-events.js';
import { DevLoop, type DevLoopHost } from './dev-loop.js';
import type { PluginWatcher, WatchTarget } from './plugin-watcher.js';

/** Sees every file event the watcher receives, before filtering: `plugins` are the plugins the file belongs to. */
export type WatchObserver = (event: string, file: string, plugins: string[]) => void;

/** The supervisor, as the watch host sees it. */
export interface WatchedSupervisor {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly root: string;
  isRunning(): boolean;
  runtimes(): Iterable<ManagedPlugin>;
  runtime(name: string): ManagedPlugin | undefined;
  load(source: LoadSource): Promise<unknown>;
  reloadMany(names: string[]): Promise<ReloadResult[]>;
  /** Adopt a re-read hot-loading.yaml (the supervisor keeps its own overrides on top). */
  adoptConfig(next: ResolvedConfig): void;
  emit<E extends keyof SupervisorEventMap>(event: E, ...payload: SupervisorEventMap[E]): boolean;
  timeoutMs(): number;
}

/** A configured plugin that failed to load at start in development mode. */
interface BrokenPlugin {
  source: LoadSource;
  dir: string;
  error: Error;
  files: string[];
}

export class WatchHost implements DevLoopHost {
  readonly #sup: WatchedSupervisor;
  readonly #broken = new Map<string, BrokenPlugin>();
  #loop: DevLoop | undefined;
  #observer: WatchObserver | undefined;

  constructor(sup: WatchedSupervisor) {
    this.#sup = sup;
  }

  get config(): ResolvedConfig {
    return this.#sup.config;
  }

  get log(): Logger {
    return this.#sup.log;
  }

  get watcher(): PluginWatcher | undefined {
    return this.#loop?.watcher;
  }

  observe(observer: WatchObserver | undefined): void {
    this.#observer = observer;
  }

  async start(): Promise<void> {
    const loop = new DevLoop(this);
    this.#loop = loop;
    await loop.start();
  }

  /** The plugins' files changed (load, reload, unload): watch the new set. */
  refresh(): Promise<void> {
    return this.#loop?.refresh() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    const loop = this.#loop;
    this.#loop = undefined;
    await loop?.close();
  }

  /** Keep a plugin that failed to load aside (at start with reload_on_import_error, or added to hot-loading.yaml); it is loaded again when its files change. */
  markBroken(source: LoadSource, error: Error, manifest?: PluginManifest): void {
    const dir = typeof source === 'string' ? source : 'path' in source ? source.path : source.fromPackage;
    const absDir = manifest?.dir ?? join(this.#sup.root, dir);
    const entries = manifest === undefined ? entryCandidates(absDir) : [manifest.entryFile];
    const files = [join(absDir, 'package.json'), ...entries, (error as { file?: string }).file]
      .filter((f): f is string => typeof f === 'string');
    this.#broken.set(absDir, { source, dir: absDir, error, files: [...new Set(files)] });
    this.log.error({ dir: absDir, err: error }, 'plugin failed to load; it is retried when its files change');
  }

  /** Configured plugins kept aside because they failed to load, with why (those loaded meanwhile left out). */
  brokenPlugins(): Array<{ dir: string; error: string }> {
    const loaded = this.#loadedDirs();
    return [...this.#broken.values()].filter((b) => !loaded.has(b.dir)).map((b) => ({ dir: b.dir, error: b.error.message }));
  }

  #loadedDirs(): Set<string> {
    return new Set([...this.#sup.runtimes()].map((r) => r.manifest.dir));
  }

  // DevLoopHost

  watchTargets(): WatchTarget[] {
    const targets: WatchTarget[] = [...this.#sup.runtimes()].map((r) => {
      const m = r.manifest;
      // A package.json or tsconfig.json written nearer the sources (within the project) takes over.
      const absent = r.build.compiled.absentSettings.filter((f) => !relative(this.#sup.root, f).startsWith('..'));
      return { name: r.name, dir: m.dir, files: [...new Set([...filesOfPlugin(m, r.build.compiled), ...absent])], packages: r.build.compiled.packages };
    });
    for (const broken of this.#broken.values()) targets.push({ name: `broken:${broken.dir}`, dir: broken.dir, files: broken.files });
    return targets;
  }

  configFileOf(plugin: string): string | undefined {
    return this.#sup.runtime(plugin)?.manifest.configFile;
  }

  reloadMany(plugins: string[]): Promise<ReloadResult[]> {
    return this.#sup.reloadMany(plugins.filter((p) => this.#sup.runtime(p) !== undefined));
  }

  dependenciesOf(plugin: string): string[] {
    return Object.keys(this.#sup.runtime(plugin)?.manifest.dependsOn ?? {});
  }

  rawEvent(event: string, file: string): void {
    this.#observer?.(event, file, this.watcher?.pluginsOf(file) ?? []);
  }

  reportChange(plugin: string, files: string[], action: 'reload' | 'config' | 'none'): void {
    this.log.info({ plugin, files, action }, 'plugin files changed');
    this.#sup.emit('change', { plugin, files, action });
  }

  async retryBroken(files: string[]): Promise<void> {
    const changed = new Set(files);
    // Loaded meanwhile (plugins load, or hot-loading.yaml applied again): nothing to retry.
    const loaded = this.#loadedDirs();
    for (const dir of [...this.#broken.keys()]) if (loaded.has(dir)) this.#broken.delete(dir);
    const due = [...this.#broken.values()].filter((b) => b.files.some((f) => changed.has(f)) || files.some((f) => f.startsWith(b.dir)));
    for (const broken of due) {
      try {
        await this.#sup.load(broken.source);
        this.#broken.delete(broken.dir);
      } catch (err) {
        this.markBroken(broken.source, err as Error);
      }
    }
  }

  /** A plugin's config file changed: validate it; deliver it through configChanged() when the plugin has that hook. */
  async deliverConfig(plugin: string): Promise<boolean> {
    const runtime = this.#sup.runtime(plugin);
    if (!(runtime instanceof PluginRuntime) || runtime.shape?.hasConfigChanged !== true || runtime.status !== 'serving') return false;
    const file = runtime.manifest.configFile!;
    try {
      const config = loadPluginConfig(runtime.manifest);
      await runtime.updateConfig(config, this.#sup.timeoutMs());
      this.log.info({ plugin, file }, 'config delivered through configChanged()');
      this.#sup.emit('config', { plugin, file, ok: true });
    } catch (err) {
      this.log.warn({ plugin, file, err }, 'config refused; the old one stays');
      this.#sup.emit('config', { plugin, file, ok: false, error: (err as Error).message });
    }
    return true;
  }

  /** hot-loading.yaml changed: validate it and apply what can change while running. */
  async applyConfigFile(): Promise<void> {
    const file = this.config.file;
    if (file === undefined) return;
    let next: ResolvedConfig;
    try {
      next = resolveConfig(this.#sup.root, file);
    } catch (err) {
      this.log.error({ file, err }, 'configuration refused; the running one stays');
      this.#sup.emit('config', { plugin: '*', file, ok: false, error: (err as Error).message });
      return;
    }
    const previous = this.config;
    this.#sup.adoptConfig(next);
    // A plugin kept aside that the file no longer lists is given up: it would hold /readyz at 503
    // and load again at its next save. (A loaded plugin removed from the file stays loaded.)
    const listed = new Set(next.plugins.map((source) => JSON.stringify(source)));
    for (const [dir, broken] of this.#broken) if (!listed.has(JSON.stringify(broken.source))) this.#broken.delete(dir);
    const loaded = this.#loadedDirs();
    const added = next.plugins.filter((source) => {
      try {
        return !loaded.has(resolvePluginDir(this.#sup.root, source));
      } catch {
        return true;
      }
    });
    // One that fails to load (its folder not written yet, a syntax error) is loaded once its files change.
    for (const source of added) {
      await this.#sup.load(source).catch((err: Error) => this.markBroken(source, err));
    }
    // Their files are watched before the `config` event: a folder written right after it is seen.
    if (added.length > 0) await this.refresh();
    const watchChanged = JSON.stringify(previous.watch) !== JSON.stringify(next.watch) || previous.safety.cooldownSeconds !== next.safety.cooldownSeconds;
    // Not awaited: this runs inside the watcher's own batch, which close() waits for.
    if (watchChanged) void this.#restart();
    this.log.info({ file, added: added.length }, 'configuration applied');
    this.#sup.emit('config', { plugin: '*', file, ok: true });
  }

  async #restart(): Promise<void> {
    await this.close();
    if (this.config.watch.enabled && this.#sup.isRunning()) await this.start();
  }
}
