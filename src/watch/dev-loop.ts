/**
 * The development loop: a saved file is picked up, validated and swapped in, or refused with a
 * clear reason while the old version keeps serving.
 *
 *   PluginWatcher batch ─▶ hot-loading.yaml changed? apply it (validated) without a restart
 *                       ─▶ only a plugin's config file changed and it has configChanged()? deliver it
 *                       ─▶ reload.automatic? reload the batch (plus dependents) as one transaction,
 *                          retried up to safety.max_reload_attempts while the files settle
 *                          otherwise report the change and leave the running versions alone
 */
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/config-schema.js';
import type { ReloadResult } from '../reload/reload-result.js';
import { PluginWatcher, type WatchBatch, type WatchTarget } from './plugin-watcher.js';

export interface DevLoopHost {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  watchTargets(): WatchTarget[];
  /** The plugin's config file, when it has one. */
  configFileOf(plugin: string): string | undefined;
  /** Deliver a changed config through configChanged(); false when the plugin has no such hook. */
  deliverConfig(plugin: string): Promise<boolean>;
  reloadMany(plugins: string[]): Promise<ReloadResult[]>;
  /** The plugins a loaded plugin depends on (its running version's dependsOn). */
  dependenciesOf(plugin: string): string[];
  /** Plugins that failed to load at start (reload_on_import_error): try them again. */
  retryBroken(files: string[]): Promise<void>;
  applyConfigFile(): Promise<void>;
  reportChange(plugin: string, files: string[], action: 'reload' | 'config' | 'none'): void;
  /** Every file event the watcher receives, before filtering (debug-watcher). */
  rawEvent?(event: string, file: string): void;
}

/** Steps at which a retry can help: the files may still be being written. */
const RETRYABLE = new Set(['manifest', 'compile', 'config', 'load']);

export class DevLoop {
  readonly #host: DevLoopHost;
  #watcher: PluginWatcher | undefined;
  /**
   * Plugins whose files changed but whose automatic reload was refused at validation (a dependency
   * range): what runs is older than their files. A later change of a plugin that depends on one
   * reloads it too (a dependency bumped to 2.0.0, refused while its dependent wants ^1, goes in
   * with the dependent's fix). One refused for its own code waits for its own next save.
   */
  readonly #stale = new Set<string>();

  constructor(host: DevLoopHost) {
    this.#host = host;
  }

  get watcher(): PluginWatcher | undefined {
    return this.#watcher;
  }

  async start(): Promise<void> {
    const { config, log } = this.#host;
    this.#watcher = new PluginWatcher({
      root: config.root,
      patterns: config.watch.patterns,
      ignore: config.watch.ignore,
      cooldownMs: config.safety.cooldownSeconds * 1000,
      configFile: config.file,
      log,
      targets: () => this.#host.watchTargets(),
      onBatch: (batch) => this.#onBatch(batch),
      onRawEvent: (event, file) => this.#host.rawEvent?.(event, file),
    });
    await this.#watcher.start();
    log.info({ patterns: config.watch.patterns, automatic: config.reload.automatic }, 'watching for changes');
  }

  /** The plugins' files changed (load, reload, unload): watch the new set. */
  refresh(): Promise<void> {
    return this.#watcher?.refresh() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    await this.#watcher?.close();
    this.#watcher = undefined;
  }

  async #onBatch(batch: WatchBatch): Promise<void> {
    const host = this.#host;
    if (batch.config) await host.applyConfigFile();
    await host.retryBroken(batch.files);
    const toReload: string[] = [];
    const targets = host.watchTargets();
    const owns = (t: WatchTarget, f: string): boolean => t.files.includes(f) || t.packages?.includes(f) === true;
    // A file no plugin is made of yet: one added beside an import it may now take (see PluginWatcher).
    const added = batch.files.filter((f) => !targets.some((t) => owns(t, f)));
    for (const plugin of batch.plugins) {
      const own = batch.files.filter((f) => targets.some((t) => t.name === plugin && owns(t, f)));
      const files = own.length > 0 ? own : added;
      const onlyConfig = files.length > 0 && files.every((f) => f === host.configFileOf(plugin));
      if (onlyConfig && await host.deliverConfig(plugin)) {
        host.reportChange(plugin, files, 'config');
        continue;
      }
      if (!host.config.reload.automatic) {
        host.reportChange(plugin, files, 'none');
        continue;
      }
      host.reportChange(plugin, files, 'reload');
      toReload.push(plugin);
    }
    if (toReload.length > 0) await this.#reload(this.#withStaleDependencies(toReload));
    await this.refresh();
  }

  /** `plugins` and the stale plugins they depend on, directly or not. */
  #withStaleDependencies(plugins: string[]): string[] {
    const all = new Set(plugins);
    const visit = (plugin: string): void => {
      for (const dep of this.#host.dependenciesOf(plugin)) {
        if (this.#stale.has(dep) && !all.has(dep)) all.add(dep);
        visit(dep);
      }
    };
    for (const plugin of plugins) visit(plugin);
    return [...all];
  }

  async #reload(plugins: string[]): Promise<void> {
    const { safety } = this.#host.config;
    for (let attempt = 1; ; attempt++) {
      const results = await this.#host.reloadMany(plugins);
      const failed = results.find((r) => !r.ok);
      if (failed === undefined) {
        for (const plugin of plugins) this.#stale.delete(plugin);
        return;
      }
      const step = failed.error?.step ?? '';
      if (attempt >= safety.maxReloadAttempts || !RETRYABLE.has(step)) {
        if (step === 'validate') for (const plugin of plugins) this.#stale.add(plugin);
        this.#host.log.warn({ plugins, attempt, step, err: failed.error }, 'automatic reload refused; the running version keeps serving');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, safety.cooldownSeconds * 1000));
    }
  }
}
