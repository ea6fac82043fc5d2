/**
 * The checks a reload runs before it touches the running version, run on their own against a
 * plugin folder (`plugvisor dev plugin validate`, `plugins debug`, a freshly created plugin):
 *
 *   manifest      package.json: schema, semver, engines.plugvisor
 *   compile       esbuild: syntax, imports that resolve (the host's compile cache is shared)
 *   config        the plugin's config file against its configSchema
 *   dependencies  dependsOn ranges against the versions a running host has loaded
 *   load          a scratch worker imports the module and checks its shape (default export, commands)
 *   activate      state() and setup() with a fresh state (not for plugins with dependsOn: their
 *                 ctx.plugins only exist inside a host)
 *   health        health() must report { ok: true }
 *   state         the fresh state serialises with node:v8, as a reload would snapshot it
 *
 * Nothing here touches a running host: the scratch worker is ended (after dispose()) whatever happens.
 */
import { PlugvisorError, isPlugvisorError } from '../errors.js';
import type { PluginShape } from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { WorkerTransport } from '../runtime/worker-transport.js';
import semver from 'semver';
import { compilePlugin, type CompiledPlugin } from './compile-plugin.js';
import { readManifest, type PluginManifest } from './manifest.js';
import { filesOfPlugin } from './plugin-made-of.js';
import { loadPluginConfig } from './plugin-config.js';

export type ValidationStepName = 'manifest' | 'compile' | 'config' | 'dependencies' | 'load' | 'activate' | 'health' | 'state';

export interface ValidationStep {
  step: ValidationStepName;
  ok: boolean;
  ms: number;
  /** What was found (e.g. the commands), or why the step was skipped. */
  detail?: string;
  skipped?: boolean;
  error?: PlugvisorError;
}

export interface ValidationReport {
  ok: boolean;
  dir: string;
  plugin?: string;
  version?: string;
  steps: ValidationStep[];
  shape?: PluginShape;
  /**
   * The files the plugin was made of, once the compile step passed: its sources (a helper outside
   * its folder too), the package.json and tsconfig.json they compile with (and the configs that
   * extends), its package.json, config file and schema. What `validate --watch` watches.
   */
  files?: string[];
  /** The first failure, with the step it happened in. */
  error?: PlugvisorError & { step: ValidationStepName };
  durationMs: number;
}

export interface ValidateOptions {
  /** The compile cache folder (the host's is `<root>/.plugvisor/cache`). */
  cacheDir: string;
  /** The version of a plugin a running host has loaded; without it, dependency ranges are not checked. */
  loadedVersion?: (name: string) => string | undefined;
  /** Stop after the load step: no state(), setup() or health(). Default false. */
  skipActivation?: boolean;
  checkEngines?: boolean;
  startTimeoutMs?: number;
  /** Log level of the scratch worker's pino logger. Default 'silent'. */
  logLevel?: string;
}

class StepFailure extends Error {
  constructor(readonly error: PlugvisorError) {
    super(error.message);
  }
}

export async function validatePlugin(dir: string, options: ValidateOptions): Promise<ValidationReport> {
  const t0 = performance.now();
  const steps: ValidationStep[] = [];
  const report: ValidationReport = { ok: false, dir, steps, durationMs: 0 };
  const run = async <T>(step: ValidationStepName, work: () => Promise<T> | T, describe?: (value: T) => string | undefined): Promise<T> => {
    const s0 = performance.now();
    try {
      const value = await work();
      steps.push({ step, ok: true, ms: performance.now() - s0, detail: describe?.(value) });
      return value;
    } catch (err) {
      const error = asPlugvisorError(err, step, report.plugin);
      steps.push({ step, ok: false, ms: performance.now() - s0, error });
      report.error = Object.assign(error, { step });
      throw new StepFailure(error);
    }
  };
  const skip = (step: ValidationStepName, why: string): void => void steps.push({ step, ok: true, skipped: true, ms: 0, detail: why });

  let transport: WorkerTransport | undefined;
  try {
    const manifest = await run('manifest', () => readManifest(dir, { checkEngines: options.checkEngines ?? true }),
      (m) => `${m.name} ${m.version}, entry ${m.entryFile}${m.pool ? `, pooled (${m.pool.maxThreads} threads)` : ''}`);
    report.plugin = manifest.name;
    report.version = manifest.version;
    const compiled = await run('compile', () => compilePlugin(manifest.name, manifest.entryFile, options.cacheDir),
      (c) => `${c.sources.length} source file${c.sources.length === 1 ? '' : 's'}${c.cached ? ' (compile cache)' : `, ${Math.round(c.compileMs)} ms`}`);
    report.files = filesOfPlugin(manifest, compiled);
    const config = await run('config', () => loadPluginConfig(manifest),
      () => (manifest.configFile === undefined ? 'no config file' : `${manifest.configFile}${manifest.configSchemaFile ? ' matches its schema' : ''}`));
    const deps = Object.entries(manifest.dependsOn);
    if (deps.length === 0) skip('dependencies', 'no dependsOn');
    else if (options.loadedVersion === undefined) skip('dependencies', `not checked without a running host: ${deps.map(([d, r]) => `${d} ${r}`).join(', ')}`);
    else await run('dependencies', () => checkDependencies(manifest, options.loadedVersion!), () => deps.map(([d, r]) => `${d} ${r} (${options.loadedVersion!(d)})`).join(', '));

    transport = await run('load', () => startScratchWorker(manifest, compiled, config, options), (t) => `commands: ${t.shape.commands.join(', ') || '(none)'}`);
    report.shape = transport.shape;
    const timeoutMs = options.startTimeoutMs ?? 10_000;
    if (options.skipActivation === true) {
      skip('activate', 'not asked for');
    } else if (deps.length > 0) {
      skip('activate', 'depends on other plugins: activated only inside a host (ctx.plugins)');
    } else {
      const live = transport;
      await run('activate', () => live.control('activate', { peers: [] }, timeoutMs), () => (live.shape.hasState ? 'state() and setup() ran' : 'setup() ran'));
      await run('health', async () => {
        const health = await live.control('health', null, timeoutMs);
        if (health.ok !== true) throw new PlugvisorError('PLUGVISOR_HEALTH_FAILED', `plugin "${manifest.name}": health() reported ${JSON.stringify(health)}`, { plugin: manifest.name, report: health });
        return health;
      }, () => (live.shape.hasHealth ? 'health() reported ok' : 'no health() hook'));
      if (manifest.pool !== undefined) {
        skip('state', 'pooled: no state is kept between calls');
      } else {
        await run('state', () => live.control('snapshot', null, timeoutMs).catch((err: Error) => {
          throw new PlugvisorError('PLUGVISOR_STATE_NOT_SERIALIZABLE', `plugin "${manifest.name}": its fresh state cannot be serialised with node:v8: ${err.message}`, { plugin: manifest.name, cause: err });
        }), (bytes) => `${bytes.byteLength} bytes with node:v8`);
      }
      await live.control('dispose', null, timeoutMs).catch(() => undefined);
    }
    report.ok = true;
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err;
  } finally {
    await transport?.terminate();
    report.durationMs = performance.now() - t0;
  }
  return report;
}

function checkDependencies(manifest: PluginManifest, loadedVersion: (name: string) => string | undefined): void {
  for (const [dep, range] of Object.entries(manifest.dependsOn)) {
    const version = loadedVersion(dep);
    if (version === undefined || !semver.satisfies(version, range, { includePrerelease: true })) {
      throw new PlugvisorError('PLUGVISOR_DEPENDENCY_MISSING',
        `plugin "${manifest.name}" needs "${dep}" ${range}, ${version === undefined ? 'which is not loaded' : `but version ${version} is loaded`} (${manifest.manifestFile})`,
        { plugin: manifest.name, dependency: dep, file: manifest.manifestFile });
    }
  }
}

function startScratchWorker(manifest: PluginManifest, compiled: CompiledPlugin, config: unknown, options: ValidateOptions): Promise<WorkerTransport> {
  return WorkerTransport.start({
    workerData: {
      protocol: PROTOCOL_VERSION,
      plugin: manifest.name,
      version: manifest.version,
      generation: 1,
      moduleUrl: compiled.moduleUrl,
      entryFile: manifest.entryFile,
      config,
      logLevel: options.logLevel ?? 'silent',
    },
    resourceLimits: {
      maxOldGenerationSizeMb: manifest.limits.maxOldGenerationSizeMb,
      maxYoungGenerationSizeMb: manifest.limits.maxYoungGenerationSizeMb,
      stackSizeMb: manifest.limits.stackSizeMb,
    },
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    onReply: () => undefined,
    onCloneError: () => undefined,
    // A death fails the pending control request with PLUGVISOR_PLUGIN_CRASHED: nothing else to do.
    onDeath: () => undefined,
  });
}

/** `plugin` is the manifest's name once it was read: named first, as `plugins load` names it. */
function asPlugvisorError(err: unknown, step: ValidationStepName, plugin: string | undefined): PlugvisorError {
  const e = err as Error & { step?: string };
  const whose = plugin === undefined ? '' : `plugin "${plugin}": `;
  if (step === 'activate' && typeof e?.step === 'string') {
    // A hook threw inside the worker: name it, as the host does for a reload.
    const code = e.step === 'migrate' ? 'PLUGVISOR_MIGRATE_FAILED' : 'PLUGVISOR_SETUP_FAILED';
    return new PlugvisorError(code, `${whose}${e.step}() failed: ${e.message}`, { cause: err, hook: e.step, plugin });
  }
  if (err instanceof PlugvisorError || isPlugvisorError(err)) return err;
  // activate reports the hook that threw (state, setup) as `step`.
  const code = step === 'activate' ? 'PLUGVISOR_SETUP_FAILED' : step === 'health' ? 'PLUGVISOR_HEALTH_FAILED' : 'PLUGVISOR_RELOAD_FAILED';
  const hook = typeof e?.step === 'string' ? `${e.step}() failed: ` : '';
  return new PlugvisorError(code, `${whose}${hook}${e?.message ?? String(err)}`, { cause: err, hook: e?.step, plugin });
}
