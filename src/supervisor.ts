/**
 * The public facade: loads plugins into their own workers, routes calls, supervises restarts and
 * wires dependency channels. The work itself lives in PluginRuntime / PoolRuntime (one per plugin),
 * the reload transaction (reload/), the development loop (watch/) and the plugin/ helpers
 * (manifest, compile, config).
 */
import { EventEmitter } from 'node:events';
import { url as inspectorUrl } from 'node:inspector';
import { join } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import semver from 'semver';
import { resolveConfig, type ConfigInput } from './config/resolve-config.js';
import type { ResolvedConfig } from './config/config-schema.js';
import { dependentsOf, topologicalOrder } from './dependency-graph.js';
import { PlugvisorError, isPlugvisorError } from './errors.js';
import { createLogger } from './logger.js';
import type { DependencyInfo, PluginInfo } from './plugin-info.js';
import { compilePlugin } from './plugin/compile-plugin.js';
import { readManifest, type PluginManifest } from './plugin/manifest.js';
import { loadPluginConfig } from './plugin/plugin-config.js';
import { resolvePluginDir, type LoadSource } from './plugin/resolve-source.js';
import type { HealthReport, PeerWiring, WorkerHeap } from './protocol/messages.js';
import { pruneCompileCache } from './plugin/prune-compile-cache.js';
import { SpareWorkers } from './runtime/spare-workers.js';
import { PluginRuntime, type PluginBuild, type RuntimeHooks } from './runtime/plugin-runtime.js';
import type { ManagedPlugin } from './runtime/managed-plugin.js';
import { PoolRuntime, assertNotPooledDependency } from './runtime/pool-runtime.js';
import type { SupervisorEvent, SupervisorEventMap } from './supervisor-events.js';
import { runReload } from './reload/reload-transaction.js';
import type { ReloadOptions, ReloadResult } from './reload/reload-result.js';
import type { WorkerTransport } from './runtime/worker-transport.js';
import { Mutex } from './mutex.js';
import { StateBackups } from './state/state-backups.js';
import { WatchHost, type WatchObserver } from './watch/watch-host.js';
export type { WatchObserver } from './watch/watch-host.js';
import type { PluginWatcher, WatchTarget } from './watch/plugin-watcher.js';
import { installMissingDependencies } from './plugin/install-deps.js';
import { checkReloadOptions, checkSupervisorOptions } from './supervisor-options.js';

const MIN_START_TIMEOUT_MS = 10_000;

export interface SupervisorOptions {
  /** The project folder: relative paths in the config resolve against it. Default: process.cwd(). */
  root?: string;
  /** A config file path (relative to root), a config object (partial), or nothing for defaults. */
  config?: ConfigInput;
  /** A pino logger to use instead of the one made from the config's log level. */
  logger?: Logger;
}

type Commands = Record<string, (...args: any[]) => any>;

/** Where a supervisor is in its life: `starting` while start() loads the configured plugins. */
export type SupervisorStatus = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Sees every call through call() and plugin(): `error` is undefined when it succeeded. */
export type CallObserver = (plugin: string, command: string, durationMs: number, error: Error | undefined) => void;
/** The caller's view of a plugin: every command returns a promise. T may be an interface (no index signature needed). */
export type PluginProxy<T extends object = Commands> = {
  [K in keyof T]-?: NonNullable<T[K]> extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/**
 * Members that awaiting, JSON.stringify or a conversion to a primitive look up on their own: as
 * commands, each such lookup would send a call (and leave its rejection unhandled).
 */
const IMPLICIT_MEMBERS = new Set(['then', 'toJSON', 'toString', 'valueOf']);

/** How often loads and reloads may look for old compiled versions to remove. */
const PRUNE_INTERVAL_MS = 60_000;

export class Supervisor extends EventEmitter<SupervisorEventMap> {
  readonly log: Logger;
  #config: ResolvedConfig;
  readonly #watch: WatchHost;
  readonly #callObservers = new Set<CallObserver>();
  /** Set by setDevelopmentMode(): survives hot-loading.yaml being applied again. */
  #developmentOverride: { enabled: boolean; levelBefore: string } | undefined;
  readonly #plugins = new Map<string, ManagedPlugin>();
  readonly #cacheDir: string;
  readonly #backups: StateBackups;
  #state: SupervisorStatus = 'new';
  #stopping: Promise<void> | undefined;
  /** Loads, reloads and unloads change the plugin graph one at a time. */
  readonly #changes = new Mutex();
  readonly #spares: SpareWorkers;
  #prunedAt = 0;

  constructor(options: SupervisorOptions = {}) {
    super();
    checkSupervisorOptions(options);
    this.#config = resolveConfig(options.root ?? process.cwd(), options.config);
    this.log = options.logger ?? createLogger(this.config.logLevel);
    this.#cacheDir = join(this.config.root, '.plugvisor', 'cache');
    this.#spares = new SpareWorkers(() => this.#sparesWanted());
    this.#backups = new StateBackups({
      dir: join(this.config.root, '.plugvisor', 'state'),
      settings: () => ({ enabled: this.config.reload.backupState, intervalSeconds: this.config.reload.checkpointIntervalSeconds, timeoutMs: this.#timeoutMs() }),
      log: this.log,
      runtimes: () => [...this.#plugins.values()].filter((r): r is PluginRuntime => r instanceof PluginRuntime),
    });
    this.#watch = this.#createWatchHost();
  }

  /**
   * Every listener is called even when one throws, and its error is logged, never thrown into what
   * emitted the event: a crash would otherwise skip the restart (the plugin left serving from a dead
   * worker, its calls unanswered), a committed load or reload would reject.
   */
  override emit(event: keyof SupervisorEventMap, ...args: unknown[]): boolean {
    const listeners = this.rawListeners(event) as Array<(...payload: unknown[]) => unknown>;
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (err) {
        this.log.error({ err, event: String(event), plugin: (args[0] as { plugin?: unknown } | undefined)?.plugin }, `a "${String(event)}" event listener threw`);
      }
    }
    return listeners.length > 0;
  }

  /** The resolved configuration (replaced when hot-loading.yaml changes and is valid). */
  get config(): ResolvedConfig {
    return this.#config;
  }

  get root(): string {
    return this.config.root;
  }

  /**
   * `running` once start() has loaded the configured plugins. What serves requests next to a
   * supervisor that is still starting (the dev server, bound first) reads it to answer "not yet".
   */
  get status(): SupervisorStatus {
    return this.#state;
  }

  /** Load the configured plugins (dependencies first). */
  async start(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      throw new PlugvisorError('PLUGVISOR_NOT_STARTED', `the supervisor is ${this.#state}: a stopped supervisor cannot start again, create a new Supervisor`);
    }
    if (this.#state !== 'new') throw new PlugvisorError('PLUGVISOR_NOT_STARTED', `start() was already called (supervisor is ${this.#state})`);
    this.#state = 'starting';
    try {
      this.#warnInactiveDevelopmentSettings();
      if (this.config.enabled) await this.#loadConfiguredPlugins(this.config.plugins);
      this.#state = 'running';
      this.#backups.startCheckpoints();
      if (this.config.watch.enabled) await this.#watch.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.log.info({ plugins: [...this.#plugins.keys()] }, 'plugvisor started');
  }

  /** Load a plugin from a folder (absolute, or relative to root) or an installed npm package. */
  async load(source: LoadSource): Promise<PluginInfo> {
    this.#assertUsable();
    return this.#changes.run(async () => {
      const manifest = readManifest(resolvePluginDir(this.root, source));
      await this.#loadManifest(manifest);
      this.#pruneCompileCache();
      await this.#watch.refresh();
      return this.info(manifest.name);
    });
  }

  /**
   * Replace a plugin with its new code while callers keep calling; its dependents are reloaded
   * with it, in one transaction. Resolves { ok: false, error } for every failure the plugin
   * causes (the old version keeps serving); rejects only for misuse, such as an unknown plugin.
   */
  async reload(name: string, options: ReloadOptions = {}): Promise<ReloadResult> {
    checkReloadOptions(options);
    this.#assertUsable();
    this.#require(name);
    return this.#changes.run(async () => {
      const group = [name, ...this.#dependents(name)].map((n) => this.#require(n));
      const results = await this.#runReload(group, options);
      return results[0]!;
    });
  }

  /** Reload every plugin, dependencies first, as one transaction. */
  async reloadAll(options: ReloadOptions = {}): Promise<ReloadResult[]> {
    checkReloadOptions(options);
    this.#assertUsable();
    return this.#changes.run(() => this.#runReload(this.#loadOrder().map((n) => this.#require(n)), options));
  }

  /**
   * A long-lived channel to the plugin's connect() hook. It survives reloads: messages posted
   * during a swap wait in the port and reach the new version in order. It ends with the worker
   * when the plugin crashes (the port emits 'close'). Asked during a load, reload or unload, it
   * opens once that is over.
   */
  async connect(name: string): Promise<MessagePort> {
    this.#assertUsable();
    this.#require(name);
    // Not while a reload runs: an old worker that has already handed its channels over (the pause)
    // would take this one and end with it.
    return this.#changes.run(async () => {
      const runtime = this.#require(name);
      await runtime.ensureStarted();
      if (runtime.transport === undefined || runtime.shape?.hasConnect !== true) {
        throw new PlugvisorError('PLUGVISOR_COMMAND_NOT_FOUND', `plugin "${name}" has no connect() hook`, { plugin: name });
      }
      const { port1, port2 } = new MessageChannel();
      await runtime.transport.control('connect', { port: port2, resumed: false }, this.#timeoutMs(), [port2]);
      return port1;
    });
  }

  async #runReload(group: ManagedPlugin[], options: ReloadOptions): Promise<ReloadResult[]> {
    const validate = options.force !== true && this.config.reload.validation && this.config.safety.validateBeforeReload;
    const releaseSpares = this.#spares.hold();
    const results = await runReload({
      log: this.log,
      timeoutMs: this.#timeoutMs(),
      startTimeoutMs: this.#startTimeoutMs(),
      validate,
      readManifest: (dir, checkEngines) => readManifest(dir, { checkEngines }),
      buildPlugin: (manifest) => this.buildPlugin(manifest),
      loadedVersion: (dep) => this.#plugins.get(dep)?.manifest.version,
      dependsOnGraph: () => this.#graph(),
      startDependency: (name) => this.#requireDependency(name).ensureStarted(),
      backupBefore: options.backupState === true ? (plugin, version, state) => this.#backups.save(plugin, version, state, 'before-reload') : undefined,
      afterSwap: options.backupState === true || this.#backups.enabled
        ? async (runtime) => void (await this.#backups.checkpoint(runtime)) : undefined,
    }, group).finally(releaseSpares);
    this.#pruneCompileCache();
    await this.#watch.refresh();
    for (const r of results) {
      if (r.ok) {
        this.log.info({ plugin: r.plugin, fromVersion: r.fromVersion, toVersion: r.toVersion, durationMs: round(r.durationMs), pauseMs: round(r.pauseMs) }, 'plugin reloaded');
        this.emit('reload', { plugin: r.plugin, fromVersion: r.fromVersion, toVersion: r.toVersion, durationMs: r.durationMs, pauseMs: r.pauseMs });
      } else {
        this.emit('rollback', { plugin: r.plugin, step: r.error!.step, error: r.error!.message });
      }
    }
    return results;
  }

  call(name: string, command: string, ...args: unknown[]): Promise<any> {
    const runtime = this.#plugins.get(name);
    if (runtime === undefined) return Promise.reject(this.#notFound(name));
    const observers = this.#callObservers;
    if (observers.size === 0) return runtime.call(command, args);
    const t0 = performance.now();
    return runtime.call(command, args).then(
      (value) => {
        const ms = performance.now() - t0;
        for (const observer of observers) observer(name, command, ms, undefined);
        return value;
      },
      (err: Error) => {
        const ms = performance.now() - t0;
        for (const observer of observers) observer(name, command, ms, err);
        throw err;
      },
    );
  }

  /**
   * Observe every call made through call() and plugin() proxies (metrics, monitors): its plugin,
   * command, duration and error. Several observers may watch at once (the dev server's metrics and
   * a `dev plugin monitor`); the returned function removes this one, undefined removes them all.
   * Without observers, the call path pays nothing.
   */
  observeCalls(observer: CallObserver | undefined): () => void {
    if (observer === undefined) {
      this.#callObservers.clear();
      return () => undefined;
    }
    this.#callObservers.add(observer);
    return () => void this.#callObservers.delete(observer);
  }

  /**
   * Observe every file event the watcher receives, before it filters them (`plugvisor plugins
   * debug-watcher`). One observer at a time; undefined removes it. Only while watching is on.
   */
  observeWatcher(observer: WatchObserver | undefined): void {
    this.#watch.observe(observer);
  }

  /**
   * The plugin's state serialised with node:v8, as a reload would snapshot it (without pausing the
   * plugin). Undefined when it has no running worker of its own (lazy and not started, pooled,
   * restarting); rejects with PLUGVISOR_STATE_NOT_SERIALIZABLE when the state cannot be serialised.
   */
  async stateSnapshot(name: string): Promise<Uint8Array | undefined> {
    const transport = this.#liveTransport(name);
    if (transport === undefined) return undefined;
    try {
      return await transport.control('snapshot', null, this.#timeoutMs());
    } catch (err) {
      if (isPlugvisorError(err, 'PLUGVISOR_PLUGIN_CRASHED') || isPlugvisorError(err, 'PLUGVISOR_CALL_TIMEOUT')) throw err;
      throw new PlugvisorError('PLUGVISOR_STATE_NOT_SERIALIZABLE', `plugin "${name}": its state cannot be serialised with node:v8: ${(err as Error).message}`, { plugin: name, cause: err });
    }
  }

  /**
   * Switch development mode on a running host (`plugvisor dev mode`): the development.* settings
   * apply from the next load or reload on, and the log level goes to debug while it is on (back to
   * the previous level when it is switched off). It stays as set when hot-loading.yaml is applied again.
   */
  setDevelopmentMode(enabled: boolean): ResolvedConfig {
    this.#assertUsable();
    const levelBefore = this.#developmentOverride?.levelBefore ?? this.log.level;
    this.#developmentOverride = { enabled, levelBefore };
    this.#config = withDevelopmentMode(this.config, enabled, levelBefore);
    this.log.level = this.config.logLevel;
    this.#warnInactiveDevelopmentSettings();
    this.log.info({ developmentMode: enabled, logLevel: this.config.logLevel }, 'development mode switched');
    return this.config;
  }

  /** The V8 heap of the plugin's worker, as the worker reports it (undefined without a running worker). */
  async workerHeap(name: string): Promise<WorkerHeap | undefined> {
    const transport = this.#liveTransport(name);
    if (transport === undefined) return undefined;
    return transport.control('heap', null, this.#timeoutMs());
  }

  /**
   * The plugin's health() report, asked of its running worker ({ ok: true } when it has no health
   * hook; { ok: false, error } when health() throws). Undefined without a running worker: lazy and
   * not started, restarting, failed, or pooled.
   */
  async health(name: string): Promise<HealthReport | undefined> {
    const transport = this.#liveTransport(name);
    if (transport === undefined) return undefined;
    try {
      return await transport.control('health', null, this.#timeoutMs());
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  /**
   * A proxy whose methods call the plugin's commands; it resolves the plugin by name on every call, so
   * it stays valid across reloads. The names the language calls by itself (`then` when awaited,
   * `toJSON` by JSON.stringify, `toString` and `valueOf` in a conversion) are not commands here: a
   * command of that name is called with call().
   */
  plugin<T extends object = Commands>(name: string): PluginProxy<T> {
    return new Proxy({} as PluginProxy<T>, {
      get: (_target, prop) => {
        if (typeof prop !== 'string' || IMPLICIT_MEMBERS.has(prop)) return undefined;
        return (...args: unknown[]) => this.call(name, prop, ...args);
      },
    });
  }

  async unload(name: string): Promise<void> {
    this.#require(name);
    return this.#changes.run(() => this.#unload(name));
  }

  async #unload(name: string): Promise<void> {
    const runtime = this.#require(name);
    const dependents = this.#dependents(name);
    if (dependents.length > 0) {
      throw new PlugvisorError('PLUGVISOR_HAS_DEPENDENTS', `plugin "${name}" cannot be unloaded: ${dependents.join(', ')} depend(s) on it`, { plugin: name, dependents });
    }
    this.#plugins.delete(name);
    await runtime.stop(this.#timeoutMs());
    await this.#watch.refresh();
    this.log.info({ plugin: name }, 'plugin unloaded');
    this.emit('unload', { plugin: name, version: runtime.manifest.version });
  }

  list(): PluginInfo[] {
    return [...this.#plugins.keys()].map((name) => this.info(name));
  }

  /**
   * Configured plugins that failed to load and are kept aside until their files change (development
   * mode with reload_on_import_error at start, or added to hot-loading.yaml): their folder and error.
   */
  brokenPlugins(): Array<{ dir: string; error: string }> {
    return this.#watch.brokenPlugins();
  }

  info(name: string): PluginInfo {
    const r = this.#require(name);
    const m = r.manifest;
    return {
      name,
      version: m.version,
      status: r.status,
      activation: m.activation,
      pooled: m.pool !== undefined,
      path: m.dir,
      entry: m.entryFile,
      module: r.build.compiled.outFile,
      commands: r.shape?.commands,
      dependsOn: { ...m.dependsOn },
      dependents: this.#dependents(name),
      generation: r.generation,
      lastLoaded: r.lastLoaded?.toISOString(),
      reloadCount: r.reloadCount,
      stats: { ...r.stats, pending: r.pendingCalls },
      ...(r.failure ? { error: r.failure.message } : {}),
    };
  }

  deps(name: string): DependencyInfo {
    const m = this.#require(name).manifest;
    return {
      name,
      dependsOn: Object.entries(m.dependsOn).map(([dep, range]) => {
        const loadedVersion = this.#plugins.get(dep)?.manifest.version;
        return { name: dep, range, loadedVersion, satisfied: loadedVersion !== undefined && semver.satisfies(loadedVersion, range, { includePrerelease: true }) };
      }),
      dependents: this.#dependents(name),
    };
  }

  /**
   * After the load, reload or unload in progress (and those already queued), drain calls in flight,
   * dispose every plugin (dependents first), end every worker. Safe to call twice.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }


  /**
   * Reload several plugins, with every plugin that depends on them, as one transaction in
   * dependency order (what a burst of saves touching several plugins becomes).
   */
  async reloadMany(names: string[], options: ReloadOptions = {}): Promise<ReloadResult[]> {
    checkReloadOptions(options);
    this.#assertUsable();
    for (const name of names) this.#require(name);
    return this.#changes.run(async () => {
      const wanted = new Set(names.flatMap((n) => [n, ...this.#dependents(n)]));
      const group = this.#loadOrder().filter((n) => wanted.has(n)).map((n) => this.#require(n));
      return this.#runReload(group, options);
    });
  }

  /**
   * The files a loaded plugin is made of as the watcher follows them (its sources wherever they
   * are, the package.json and tsconfig.json they compile with, its config file) and its npm
   * packages: what a watcher of its own (`plugins dev`) watches too.
   */
  watchTarget(name: string): WatchTarget | undefined {
    return this.#watch.watchTargets().find((t) => t.name === name);
  }

  /** The file watcher, while watching is on (for tools that want to see what it sees). */
  get watcher(): PluginWatcher | undefined {
    return this.#watch.watcher;
  }

  /** Load configured plugins, dependencies first; in development mode with reload_on_import_error a plugin that fails is kept aside and retried when its files change. */
  async #loadConfiguredPlugins(sources: readonly LoadSource[]): Promise<void> {
    const tolerant = this.config.developmentMode && this.config.development.reloadOnImportError;
    const manifests: Array<{ manifest: PluginManifest; source: LoadSource }> = [];
    for (const source of sources) {
      try {
        manifests.push({ manifest: readManifest(resolvePluginDir(this.root, source)), source });
      } catch (err) {
        if (!tolerant) throw err;
        this.#watch.markBroken(source, err as Error);
      }
    }
    const bySource = new Map(manifests.map((m) => [m.manifest.name, m]));
    const order = topologicalOrder(new Map(manifests.map(({ manifest: m }) => [m.name, Object.keys(m.dependsOn)])));
    for (const name of order) {
      const { manifest, source } = bySource.get(name)!;
      try {
        await this.#loadManifest(manifest);
      } catch (err) {
        if (!tolerant) throw err;
        this.#watch.markBroken(source, err as Error, manifest);
      }
    }
  }

  #warnInactiveDevelopmentSettings(): void {
    const { development, developmentMode } = this.config;
    if (developmentMode) return;
    const on = Object.entries(development).filter(([key, value]) => value === true && key !== 'debugLogging').map(([key]) => key);
    if (on.length > 0) this.log.warn({ settings: on }, 'development.* settings take effect only with development_mode: true (or --dev-mode)');
  }

  #createWatchHost(): WatchHost {
    const sup = this;
    return new WatchHost({
      get config() {
        return sup.config;
      },
      log: this.log,
      root: this.root,
      isRunning: () => this.#state === 'running',
      runtimes: () => this.#plugins.values(),
      runtime: (name) => this.#plugins.get(name),
      load: (source) => this.load(source),
      reloadMany: (names) => this.reloadMany(names),
      adoptConfig: (next) => {
        const override = this.#developmentOverride;
        if (override !== undefined) override.levelBefore = next.logLevel;
        this.#config = override === undefined ? next : withDevelopmentMode(next, override.enabled, next.logLevel);
        this.log.level = this.config.logLevel;
        if (this.#state === 'running') this.#backups.restartCheckpoints();
      },
      emit: (event, ...payload) => this.emit(event, ...payload),
      timeoutMs: () => this.#timeoutMs(),
    });
  }

  async #stopAll(): Promise<void> {
    this.#state = 'stopping';
    this.#backups.stopCheckpoints();
    // No spare starts for the restarts and reloads that stopping may still run into.
    const closingSpares = this.#spares.close();
    await this.#watch.close();
    // After the load, reload or unload in progress (and those queued before the stop): a plugin one
    // of them loads or swaps in meanwhile would otherwise keep its worker past the stop.
    await this.#changes.run(async () => {
      const order = this.#loadOrder().reverse();
      for (const name of order) {
        const runtime = this.#plugins.get(name);
        if (runtime === undefined) continue;
        await runtime.stop(this.#timeoutMs()).catch((err: Error) => this.log.error({ plugin: name, err }, 'stopping plugin failed'));
        // As start() says `load` for each plugin, stop() says `unload`: a listener that counts the
        // plugins loaded (a dashboard, a metric) would otherwise keep them after the stop.
        this.emit('unload', { plugin: name, version: runtime.manifest.version });
      }
      this.#plugins.clear();
    });
    await closingSpares;
    this.#state = 'stopped';
    this.log.info('plugvisor stopped');
  }

  async #loadManifest(manifest: PluginManifest): Promise<void> {
    const name = manifest.name;
    if (this.#plugins.has(name)) {
      throw new PlugvisorError('PLUGVISOR_PLUGIN_EXISTS', `plugin "${name}" is already loaded (from ${this.#plugins.get(name)!.manifest.dir})`, { plugin: name });
    }
    this.#checkDependencies(manifest);
    const build = await this.buildPlugin(manifest);
    const runtime: ManagedPlugin = manifest.pool !== undefined ? new PoolRuntime(build, this.#hooks()) : new PluginRuntime(build, this.#hooks());
    this.#plugins.set(name, runtime);
    if (manifest.activation === 'eager') {
      try {
        await runtime.ensureStarted();
      } catch (err) {
        this.#plugins.delete(name);
        await runtime.stop(this.#timeoutMs());
        throw err;
      }
    }
    this.log.info({ plugin: name, version: manifest.version, activation: manifest.activation }, 'plugin loaded');
    this.emit('load', { plugin: name, version: manifest.version, activation: manifest.activation, pooled: manifest.pool !== undefined });
  }

  /** Compile a plugin and read its config: everything a new version needs before a worker starts. */
  async buildPlugin(manifest: PluginManifest): Promise<PluginBuild> {
    if (this.config.developmentMode && this.config.development.autoInstallDeps) await installMissingDependencies(manifest, this.log);
    const { developmentMode, development } = this.config;
    const compiled = await compilePlugin(manifest.name, manifest.entryFile, this.#cacheDir, {
      stableOutput: developmentMode && development.preserveBreakpoints,
    });
    const config = loadPluginConfig(manifest);
    return { manifest, compiled, config };
  }

  #checkDependencies(manifest: PluginManifest): void {
    for (const [dep, range] of Object.entries(manifest.dependsOn)) {
      if (dep === manifest.name) {
        throw new PlugvisorError('PLUGVISOR_DEPENDENCY_CYCLE', `plugin "${dep}" depends on itself (${manifest.manifestFile})`, { plugin: dep, file: manifest.manifestFile });
      }
      const loaded = this.#plugins.get(dep);
      if (loaded === undefined) {
        throw new PlugvisorError('PLUGVISOR_DEPENDENCY_MISSING',
          `plugin "${manifest.name}" depends on "${dep}" (${range}), which is not loaded (${manifest.manifestFile}: plugvisor.dependsOn)`, { plugin: manifest.name, dependency: dep, file: manifest.manifestFile });
      }
      assertNotPooledDependency(manifest, loaded.manifest);
      if (!semver.satisfies(loaded.manifest.version, range, { includePrerelease: true })) {
        throw new PlugvisorError('PLUGVISOR_DEPENDENCY_MISSING',
          `plugin "${manifest.name}" needs "${dep}" ${range}, but version ${loaded.manifest.version} is loaded (${manifest.manifestFile}: plugvisor.dependsOn)`, { plugin: manifest.name, dependency: dep, file: manifest.manifestFile });
      }
    }
  }

  /** Old compiled versions out of .plugvisor/cache, at most once a minute (it reads the folder). */
  #pruneCompileCache(): void {
    const now = Date.now();
    if (now - this.#prunedAt < PRUNE_INTERVAL_MS) return;
    this.#prunedAt = now;
    const inUse = new Set([...this.#plugins.values()].flatMap((r) => [r.build.compiled.contentFile, r.build.compiled.outFile]));
    try {
      const removed = pruneCompileCache(this.#cacheDir, inUse, now);
      if (removed > 0) this.log.debug({ removed, dir: this.#cacheDir }, 'old compiled versions removed from the cache');
    } catch (err) {
      this.log.warn({ err, dir: this.#cacheDir }, 'pruning the compile cache failed');
    }
  }

  /**
   * A spare worker is named before it knows its plugin: not while a debugger may be attached, where
   * a worker's name (plugvisor:<plugin>#<generation>) tells plugins apart.
   */
  #sparesWanted(): boolean {
    const { reload, developmentMode, development } = this.config;
    return reload.spareWorker && !(developmentMode && development.preserveBreakpoints) && inspectorUrl() === undefined;
  }

  #hooks(): RuntimeHooks {
    // Read at each use: hot-loading.yaml may change the log level and reload.timeout while the host runs.
    const log = this.log;
    const startTimeoutMs = (): number => this.#startTimeoutMs();
    return {
      log,
      get logLevel() {
        return log.level;
      },
      get startTimeoutMs() {
        return startTimeoutMs();
      },
      v8CacheDir: join(this.#cacheDir, 'v8'),
      spares: this.#spares,
      emit: (event, payload) => this.emit(event as SupervisorEvent, payload as never),
      savedState: async (runtime) => this.#backups.savedState(runtime),
      beforeDispose: async (runtime, transport) => {
        if (this.#backups.enabled) await this.#backups.checkpoint(runtime, transport);
      },
      wireDependencies: (dependsOn, targets) => this.#wireDependencies(dependsOn, targets),
      workerReady: (runtime) => this.#rewireDependents(runtime),
      dependencyTimedOut: (name) => {
        const dependency = this.#plugins.get(name);
        if (dependency instanceof PluginRuntime) dependency.checkLiveness();
      },
    };
  }

  /** A plugin another one depends on: it must run in a worker of its own. */
  #requireDependency(name: string): ManagedPlugin {
    const target = this.#require(name);
    if (target.manifest.pool !== undefined) {
      throw new PlugvisorError('PLUGVISOR_DEPENDENCY_MISSING', `plugin "${name}" is pooled: pooled plugins cannot be dependencies`, { plugin: name });
    }
    return target;
  }

  /** A direct MessagePort between the dependent's worker and each dependency's worker. */
  async #wireDependencies(dependsOn: Record<string, string>, targets?: ReadonlyMap<string, WorkerTransport>): Promise<PeerWiring[]> {
    const wirings: PeerWiring[] = [];
    try {
      for (const dep of Object.keys(dependsOn)) {
        const target = this.#requireDependency(dep);
        const override = targets?.get(dep);
        if (override === undefined) await target.ensureStarted();
        wirings.push(await this.#openChannel(target, dep, override));
      }
    } catch (err) {
      // The channels opened so far would have no dependent: their dependencies stop serving them.
      for (const wiring of wirings) wiring.port.close();
      throw err;
    }
    return wirings;
  }

  async #rewireDependents(runtime: PluginRuntime): Promise<void> {
    for (const dependent of this.#plugins.values()) {
      for (const transport of dependent.workersWiredTo(runtime.name)) {
        // A dependent's worker that ends meanwhile (a failed start, a rolled back reload) needs no
        // channel; it must not fail the restart of the dependency.
        let wiring: PeerWiring | undefined;
        try {
          wiring = await this.#openChannel(runtime, runtime.name);
          await transport.control('rewirePeer', wiring, this.#timeoutMs(), [wiring.port]);
        } catch (err) {
          wiring?.port.close(); // the dependency then stops serving its end
          if (transport.alive) this.log.warn({ plugin: dependent.name, dependency: runtime.name, err }, 'could not re-wire a dependency channel');
        }
      }
    }
  }

  /** A channel served by `target`'s worker, or by `server` (its new worker, during a reload). */
  async #openChannel(target: ManagedPlugin, name: string, server: WorkerTransport | undefined = target.transport): Promise<PeerWiring> {
    if (server === undefined) {
      throw new PlugvisorError('PLUGVISOR_DEPENDENCY_MISSING', `plugin "${name}" has no running worker to open a dependency channel to`, { plugin: name });
    }
    const { port1, port2 } = new MessageChannel();
    try {
      await server.control('servePeer', { port: port1 }, this.#timeoutMs(), [port1]);
    } catch (err) {
      port2.close(); // a worker that did get port1 (a late answer) stops serving it
      throw err;
    }
    return { name, port: port2, commands: server.shape.commands, callTimeoutMs: target.manifest.limits.callTimeoutMs };
  }


  #dependents(name: string): string[] {
    return dependentsOf(this.#graph(), name);
  }

  #graph(): Map<string, string[]> {
    return new Map([...this.#plugins].map(([n, r]) => [n, Object.keys(r.manifest.dependsOn)]));
  }

  #loadOrder(): string[] {
    return topologicalOrder(this.#graph());
  }

  #timeoutMs(): number {
    return this.config.reload.timeoutSeconds * 1000;
  }

  /**
   * A worker's start (import, activation) is bounded on its own: a short reload.timeout meant for
   * draining must not fail slow but healthy starts on a busy machine.
   */
  #startTimeoutMs(): number {
    return Math.max(this.#timeoutMs(), MIN_START_TIMEOUT_MS);
  }

  /** The plugin's own running worker: none while lazy and not started, restarting, failed, or pooled. */
  #liveTransport(name: string): WorkerTransport | undefined {
    const transport = this.#require(name).transport;
    return transport?.alive === true ? transport : undefined;
  }

  #require(name: string): ManagedPlugin {
    const runtime = this.#plugins.get(name);
    if (runtime === undefined) throw this.#notFound(name);
    return runtime;
  }

  #notFound(name: string): PlugvisorError {
    const known = [...this.#plugins.keys()];
    const why = this.#state === 'stopping' || this.#state === 'stopped' ? ` (the supervisor is ${this.#state})`
      : known.length ? ` (loaded: ${known.join(', ')})` : '';
    return new PlugvisorError('PLUGVISOR_PLUGIN_NOT_FOUND', `no plugin named "${name}" is loaded${why}`, { plugin: name });
  }

  #assertUsable(): void {
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      throw new PlugvisorError('PLUGVISOR_NOT_STARTED', `the supervisor is ${this.#state}`);
    }
  }
}

/** The config with development mode switched; debug logs while it is on, unless the level is already more verbose. */
function withDevelopmentMode(config: ResolvedConfig, enabled: boolean, levelBefore: string): ResolvedConfig {
  const verbose = levelBefore === 'debug' || levelBefore === 'trace';
  const logLevel = enabled && !verbose ? 'debug' : levelBefore;
  return Object.freeze({ ...config, developmentMode: enabled, logLevel });
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
