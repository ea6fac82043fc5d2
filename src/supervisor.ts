/**
 * The public facade: loads plugins into their own workers, routes calls, supervises restarts and
 * wires dependency channels. The work itself lives in PluginRuntime (one per plugin) and in the
 * plugin/ helpers (manifest, compile, config).
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import type { Logger } from 'pino';
import semver from 'semver';
import { resolveConfig, type ConfigInput } from './config/resolve-config.js';
import type { ResolvedConfig } from './config/config-schema.js';
import { dependentsOf, topologicalOrder } from './dependency-graph.js';
import { PlugvisorError } from './errors.js';
import { createLogger } from './logger.js';
import type { DependencyInfo, PluginInfo } from './plugin-info.js';
import { compilePlugin } from './plugin/compile-plugin.js';
import { readManifest, type PluginManifest } from './plugin/manifest.js';
import { loadPluginConfig } from './plugin/plugin-config.js';
import { resolvePluginDir, type LoadSource } from './plugin/resolve-source.js';
import type { PeerWiring } from './protocol/messages.js';
import { PluginRuntime, type PluginBuild, type RuntimeHooks } from './runtime/plugin-runtime.js';
import type { SupervisorEvent, SupervisorEventMap } from './supervisor-events.js';

export interface SupervisorOptions {
  /** The project folder: relative paths in the config resolve against it. Default: process.cwd(). */
  root?: string;
  /** A config file path (relative to root), a config object (partial), or nothing for defaults. */
  config?: ConfigInput;
  /** A pino logger to use instead of the one made from the config's log level. */
  logger?: Logger;
}

type Commands = Record<string, (...args: any[]) => any>;
/** The caller's view of a plugin: every command returns a promise. */
export type PluginProxy<T extends Commands> = { [K in keyof T]: (...args: Parameters<T[K]>) => Promise<Awaited<ReturnType<T[K]>>> };

export class Supervisor extends EventEmitter<SupervisorEventMap> {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly #plugins = new Map<string, PluginRuntime>();
  readonly #cacheDir: string;
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopping: Promise<void> | undefined;

  constructor(options: SupervisorOptions = {}) {
    super();
    this.config = resolveConfig(options.root ?? process.cwd(), options.config);
    this.log = options.logger ?? createLogger(this.config.logLevel);
    this.#cacheDir = join(this.config.root, '.plugvisor', 'cache');
  }

  get root(): string {
    return this.config.root;
  }

  /** Load the configured plugins (dependencies first). */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new PlugvisorError('PLUGVISOR_NOT_STARTED', `start() was already called (supervisor is ${this.#state})`);
    this.#state = 'starting';
    try {
      if (this.config.enabled) {
        const manifests = this.config.plugins.map((source) => readManifest(resolvePluginDir(this.root, source)));
        const byName = new Map(manifests.map((m) => [m.name, m]));
        const order = topologicalOrder(new Map(manifests.map((m) => [m.name, Object.keys(m.dependsOn)])));
        for (const name of order) await this.#loadManifest(byName.get(name)!);
      }
      this.#state = 'running';
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.log.info({ plugins: [...this.#plugins.keys()] }, 'plugvisor started');
  }

  /** Load a plugin from a folder (absolute, or relative to root) or an installed npm package. */
  async load(source: LoadSource): Promise<PluginInfo> {
    this.#assertUsable();
    const manifest = readManifest(resolvePluginDir(this.root, source));
    await this.#loadManifest(manifest);
    return this.info(manifest.name);
  }

  call(name: string, command: string, ...args: unknown[]): Promise<any> {
    const runtime = this.#plugins.get(name);
    if (runtime === undefined) return Promise.reject(this.#notFound(name));
    return runtime.call(command, args);
  }

  /** A proxy whose methods call the plugin's commands; it resolves the plugin by name on every call, so it stays valid across reloads. */
  plugin<T extends Commands = Commands>(name: string): PluginProxy<T> {
    return new Proxy({} as PluginProxy<T>, {
      get: (_target, prop) => {
        if (typeof prop !== 'string' || prop === 'then') return undefined;
        return (...args: unknown[]) => this.call(name, prop, ...args);
      },
    });
  }

  async unload(name: string): Promise<void> {
    const runtime = this.#require(name);
    const dependents = this.#dependents(name);
    if (dependents.length > 0) {
      throw new PlugvisorError('PLUGVISOR_HAS_DEPENDENTS', `plugin "${name}" cannot be unloaded: ${dependents.join(', ')} depend(s) on it`, { plugin: name, dependents });
    }
    this.#plugins.delete(name);
    await runtime.stop(this.#timeoutMs());
    this.log.info({ plugin: name }, 'plugin unloaded');
    this.emit('unload', { plugin: name, version: runtime.manifest.version });
  }

  list(): PluginInfo[] {
    return [...this.#plugins.keys()].map((name) => this.info(name));
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

  /** Drain calls in flight, dispose every plugin (dependents first), end every worker. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #stopAll(): Promise<void> {
    this.#state = 'stopping';
    const order = this.#loadOrder().reverse();
    for (const name of order) {
      const runtime = this.#plugins.get(name);
      if (runtime === undefined) continue;
      await runtime.stop(this.#timeoutMs()).catch((err: Error) => this.log.error({ plugin: name, err }, 'stopping plugin failed'));
    }
    this.#plugins.clear();
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
    const runtime = new PluginRuntime(build, this.#hooks());
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
    const compiled = await compilePlugin(manifest.name, manifest.entryFile, this.#cacheDir);
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
      if (!semver.satisfies(loaded.manifest.version, range, { includePrerelease: true })) {
        throw new PlugvisorError('PLUGVISOR_DEPENDENCY_MISSING',
          `plugin "${manifest.name}" needs "${dep}" ${range}, but version ${loaded.manifest.version} is loaded (${manifest.manifestFile}: plugvisor.dependsOn)`, { plugin: manifest.name, dependency: dep, file: manifest.manifestFile });
      }
    }
  }

  #hooks(): RuntimeHooks {
    return {
      log: this.log,
      logLevel: this.log.level,
      startTimeoutMs: this.#timeoutMs(),
      emit: (event, payload) => this.emit(event as SupervisorEvent, payload as never),
      restartState: async () => undefined,
      wireDependencies: (runtime) => this.#wireDependencies(runtime),
      workerReady: (runtime) => this.#rewireDependents(runtime),
    };
  }

  /** A direct MessagePort between the dependent's worker and each dependency's worker. */
  async #wireDependencies(runtime: PluginRuntime): Promise<PeerWiring[]> {
    const wirings: PeerWiring[] = [];
    for (const dep of Object.keys(runtime.manifest.dependsOn)) {
      const target = this.#require(dep);
      await target.ensureStarted();
      wirings.push(await this.#openChannel(target, dep));
    }
    return wirings;
  }

  async #rewireDependents(runtime: PluginRuntime): Promise<void> {
    for (const dependent of this.#plugins.values()) {
      if (!(runtime.name in dependent.manifest.dependsOn)) continue;
      const transport = dependent.transport;
      if (transport === undefined || !transport.alive) continue;
      const wiring = await this.#openChannel(runtime, runtime.name);
      await transport.control('rewirePeer', wiring, this.#timeoutMs(), [wiring.port]);
    }
  }

  async #openChannel(target: PluginRuntime, name: string): Promise<PeerWiring> {
    const { port1, port2 } = new MessageChannel();
    await target.transport!.control('servePeer', { port: port1 }, this.#timeoutMs(), [port1]);
    return { name, port: port2, commands: target.shape?.commands ?? [], callTimeoutMs: target.manifest.limits.callTimeoutMs };
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

  #require(name: string): PluginRuntime {
    const runtime = this.#plugins.get(name);
    if (runtime === undefined) throw this.#notFound(name);
    return runtime;
  }

  #notFound(name: string): PlugvisorError {
    const known = [...this.#plugins.keys()];
    return new PlugvisorError('PLUGVISOR_PLUGIN_NOT_FOUND', `no plugin named "${name}" is loaded${known.length ? ` (loaded: ${known.join(', ')})` : ''}`, { plugin: name });
  }

  #assertUsable(): void {
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      throw new PlugvisorError('PLUGVISOR_NOT_STARTED', `the supervisor is ${this.#state}`);
    }
  }
}
