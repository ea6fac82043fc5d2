/**
 * A pooled (stateless) plugin on the host: its calls are spread over a piscina pool of threads
 * instead of one worker of its own.
 *
 *   call() ──▶ CallTable (id, deadline) ──▶ pool started? ──yes──▶ piscina.run({c, a}, { signal })
 *                                           │no (registered, starting)
 *                                           └──▶ #queue, released in issue order once the probe answered
 *
 * - Start: the pool is created and a probe task learns the plugin's shape (its commands); a failing
 *   import, state() or setup() fails the start like a single worker's activation.
 * - Timeout: the call fails with PLUGVISOR_CALL_TIMEOUT and its task is aborted through piscina's
 *   AbortSignal support: a task still queued is dropped, a running one has its thread terminated and
 *   replaced (a timed-out thread may be stuck in a loop; no other call shares it).
 * - Crash: a thread that exits, dies of an uncaught error or runs out of memory fails the call it was
 *   running with PLUGVISOR_PLUGIN_CRASHED and a `reason`, and counts against the restart policy.
 *   piscina replaces the thread at once and the other threads keep serving, so there is no back-off;
 *   more than `restart.maxRestarts` crashes in `restart.windowSeconds` fail the plugin.
 *
 * Pooled plugins keep no state between calls (each thread has a scratch `ctx.state` of its own),
 * have no `connect()` channel and take no part in dependencies: supervisor and manifest refuse it.
 */
import { materialize } from '../plugin/compile-plugin.js';
import { Piscina } from 'piscina';
import { PlugvisorError, type ErrorCode } from '../errors.js';
import { CallTable, type PendingCall } from '../protocol/call-table.js';
import type { PluginShape } from '../protocol/messages.js';
import type { PoolProbeResult, PoolResult, PoolTask, PoolWorkerData } from '../protocol/pool.js';
import { fromWireError, type WireError } from '../protocol/wire-error.js';
import type { PluginManifest } from '../plugin/manifest.js';
import { asError, crashedError, type WorkerDeath } from './crash.js';
import type { ManagedPlugin } from './managed-plugin.js';
import type { WorkerTransport } from './worker-transport.js';
import type { CallStats, PluginBuild, PluginStatus, RuntimeHooks } from './plugin-runtime.js';
import { RestartPolicy } from './restart-policy.js';
import { settlesWithin } from '../settles-within.js';
import { workerExecArgv } from './worker-exec-argv.js';
import { commandNotFound, pluginFailed, pluginStopped } from './runtime-errors.js';
import { POOL_WORKER_URL } from './worker-url.js';

/** What a pool borrows from the supervisor: no dependency wiring, no state backups. */
export type PoolHooks = Pick<RuntimeHooks, 'log' | 'logLevel' | 'startTimeoutMs' | 'emit'>;

/** Threads above minThreads are ended after this long without work. */
const IDLE_TIMEOUT_MS = 30_000;

type PoolCall = PendingCall & { args: unknown[]; abort: TaskAbort | undefined };

/**
 * The abort signal handed to piscina with every task (its EventEmitter flavour): a call that times out
 * aborts its task. An AbortController per call costs a quarter of a trivial call's throughput; this
 * holds the one listener piscina registers and nothing else.
 */
class TaskAbort {
  aborted = false;
  readonly reason = 'call timed out';
  #listener: (() => void) | undefined;

  once(_event: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  off(): void {
    this.#listener = undefined;
  }

  removeListener(): void {
    this.#listener = undefined;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }
}

export class PoolRuntime implements ManagedPlugin {
  readonly name: string;
  #build: PluginBuild;
  readonly #hooks: PoolHooks;
  readonly #calls: CallTable;
  readonly #restartPolicy: RestartPolicy;
  #status: PluginStatus = 'registered';
  #pool: Piscina<PoolTask, PoolResult> | undefined;
  #shape: PluginShape | undefined;
  #commands: Set<string> | undefined;
  #generation = 0;
  /** Calls issued before the pool could take them, in issue order. */
  #queue: PoolCall[] = [];
  #starting: Promise<void> | undefined;
  /** Pools replaced by a reload, still finishing the calls they were given. */
  readonly #retiring = new Map<Piscina<PoolTask, PoolResult>, Promise<void>>();
  /**
   * The tasks handed to each pool and not yet settled. A pool is drained by waiting for these, not
   * with piscina's close(): close() (5.x) resolves as soon as its threads look idle — with two
   * threads, after the first task to end, as it counts that thread twice — and then destroys the
   * pool, failing the tasks still in its queue with "Terminating worker thread".
   */
  readonly #tasks = new Map<Piscina<PoolTask, PoolResult>, Set<Promise<void>>>();
  #lastLoaded: Date | undefined;
  #reloadCount = 0;
  #failure: Error | undefined;
  readonly stats: CallStats = { calls: 0, errors: 0, timeouts: 0, lateReplies: 0, restarts: 0 };

  constructor(build: PluginBuild, hooks: PoolHooks) {
    assertPoolable(build.manifest);
    this.name = build.manifest.name;
    this.#build = build;
    this.#hooks = hooks;
    this.#restartPolicy = new RestartPolicy(build.manifest.restart);
    this.#calls = new CallTable((call) => this.#onTimeout(call as PoolCall));
  }

  get status(): PluginStatus {
    return this.#status;
  }

  get manifest(): PluginManifest {
    return this.#build.manifest;
  }

  get build(): PluginBuild {
    return this.#build;
  }

  get shape(): PluginShape | undefined {
    return this.#shape;
  }

  /** +1 for every pool started (first start, reload) and every thread replaced after a crash. */
  get generation(): number {
    return this.#generation;
  }

  get lastLoaded(): Date | undefined {
    return this.#lastLoaded;
  }

  get reloadCount(): number {
    return this.#reloadCount;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  /** A pool has no single worker to talk to. */
  get transport(): undefined {
    return undefined;
  }

  /** Pooled plugins cannot depend on others. */
  workersWiredTo(): WorkerTransport[] {
    return [];
  }

  get pendingCalls(): number {
    return this.#calls.size;
  }

  ensureStarted(): Promise<void> {
    if (this.#status === 'serving') return Promise.resolve();
    if (this.#status === 'failed') return Promise.reject(this.#failedError());
    if (this.#status === 'stopping' || this.#status === 'stopped') return Promise.reject(this.#stoppedError('start'));
    if (this.#starting === undefined) {
      this.#status = 'starting';
      const starting: Promise<void> = this.#start().finally(() => {
        if (this.#starting === starting) this.#starting = undefined;
      });
      this.#starting = starting;
    }
    return this.#starting;
  }

  call(command: string, args: unknown[]): Promise<unknown> {
    const status = this.#status;
    if (status === 'failed') return Promise.reject(this.#failedError());
    if (status === 'stopping' || status === 'stopped') return Promise.reject(this.#stoppedError(`call ${command}`));
    if (this.#commands !== undefined && !this.#commands.has(command)) return Promise.reject(this.#notFound(command));
    this.stats.calls++;
    return new Promise((resolve, reject) => {
      const call = this.#calls.add(command, this.#build.manifest.limits.callTimeoutMs, resolve, reject) as PoolCall;
      call.args = args;
      call.abort = undefined;
      if (status === 'serving') this.#dispatch(call);
      else this.#queue.push(call);
      if (status === 'registered') this.ensureStarted().catch(() => { /* the queued call is failed by the start */ });
    });
  }

  /** Stop: let the pool finish the calls it holds (bounded by timeoutMs), then end its threads. Safe to call twice. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#status === 'stopped') return;
    const wasStarting = this.#starting;
    this.#status = 'stopping';
    if (wasStarting !== undefined) await wasStarting.catch(() => undefined);
    this.#failQueued(() => this.#stoppedError('call'));
    const pool = this.#pool;
    this.#pool = undefined;
    // The queued and running tasks finish, then the threads end; whatever is still running after
    // timeoutMs is terminated (destroy() fails its call, below).
    const pools = [...this.#retiring.keys()];
    const closing = [...this.#retiring.values()];
    if (pool !== undefined) {
      pools.push(pool);
      closing.push(this.#drained(pool));
    }
    await settlesWithin(Promise.all(closing), timeoutMs);
    await Promise.all(pools.map((p) => p.destroy()));
    this.#calls.failWhere(() => true, (c) => pluginStopped(this.name, `call ${c.command}`, 'in-pool'));
    this.#calls.close();
    this.#status = 'stopped';
  }

  async #start(): Promise<void> {
    let opened: { pool: Piscina<PoolTask, PoolResult>; shape: PluginShape };
    try {
      opened = await this.#openPool(this.#build);
      if (this.#status !== 'starting') {
        await opened.pool.destroy();
        throw this.#stoppedError('start');
      }
    } catch (err) {
      // A plugin that cannot start fails its waiting calls with the reason, and can be retried:
      // a call made as soon as they hear of it (before this promise settles) starts afresh.
      if (this.#status === 'starting') this.#status = 'registered';
      this.#starting = undefined;
      this.#failQueued(() => err as Error);
      throw err;
    }
    this.#adopt(opened.pool, opened.shape);
    this.#status = 'serving';
    this.#lastLoaded = new Date();
    const queue = this.#queue;
    this.#queue = [];
    for (const call of queue) this.#dispatch(call);
  }

  /**
   * A reload: new code for this plugin. A running pool is replaced by a new one only once the new
   * one has started (imported, set up, probed): calls already handed to the old pool finish there
   * (stop() waits for them too), new calls go to the new one, and the old one is then closed. When
   * the new pool cannot start, this rejects and the old one serves on. A plugin that is not running
   * (lazy and never started, failed) keeps the build for its next start, which is now unless it is
   * lazy and nobody waits for it.
   */
  async replaceBuild(build: PluginBuild): Promise<void> {
    const prepared = await this.prepareBuild(build);
    if (prepared !== undefined) return prepared.commit();
    const wasFailed = this.#status === 'failed';
    this.#build = build;
    this.#reloadCount++;
    this.#failure = undefined;
    this.#restartPolicy.reset();
    this.#status = 'registered';
    if (wasFailed || build.manifest.activation === 'eager' || this.#queue.length > 0) await this.ensureStarted();
  }

  /**
   * A reload's new pool, opened (threads started, the plugin imported, set up and probed) while the
   * old one serves, before the reload's pause: commit() swaps it in at once, discard() closes it
   * (the reload rolled back). The same for a failed pool, or an eager one that is not running: the
   * reload starts them. Undefined for a lazy pool nobody has called yet: replaceBuild() then only
   * keeps the build for its first call.
   */
  async prepareBuild(build: PluginBuild): Promise<PreparedPool | undefined> {
    assertPoolable(build.manifest);
    await this.#starting?.catch(() => undefined);
    if (this.#stopped()) throw this.#stoppedError('reload');
    const starts = this.#status === 'serving' || this.#status === 'failed' || (this.#status === 'registered' && build.manifest.activation === 'eager');
    if (!starts) return undefined;
    const opened = await this.#openPool(build);
    let settled = false;
    return {
      commit: async () => {
        settled = true;
        await this.#commit(build, opened);
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        await opened.pool.destroy();
      },
    };
  }

  /** Calls go to the new pool from now on; the old one finishes its tasks and closes. */
  async #commit(build: PluginBuild, { pool, shape }: { pool: Piscina<PoolTask, PoolResult>; shape: PluginShape }): Promise<void> {
    if (this.#stopped()) {
      await pool.destroy();
      throw this.#stoppedError('reload');
    }
    const old = this.#pool;
    this.#build = build;
    this.#reloadCount++;
    this.#failure = undefined;
    this.#restartPolicy.reset();
    this.#adopt(pool, shape);
    this.#status = 'serving';
    this.#lastLoaded = new Date();
    const queue = this.#queue;
    this.#queue = [];
    for (const call of queue) this.#dispatch(call);
    if (old !== undefined) this.#retire(old);
  }

  /**
   * Close a replaced pool in the background: its tasks finish, their calls are answered. No bound
   * of its own is needed: each task ends by its call's callTimeoutMs at the latest (it is aborted).
   */
  #retire(pool: Piscina<PoolTask, PoolResult>): void {
    const closing = this.#drained(pool)
      .then(() => pool.destroy())
      .catch((err: Error) => this.#hooks.log.warn({ plugin: this.name, err }, 'closing the replaced pool failed'))
      .finally(() => this.#retiring.delete(pool));
    this.#retiring.set(pool, closing);
  }

  /** Settles once every task handed to `pool` has settled (it is given no new ones by then). */
  async #drained(pool: Piscina<PoolTask, PoolResult>): Promise<void> {
    const tasks = this.#tasks.get(pool);
    if (tasks !== undefined) await Promise.all([...tasks]);
  }

  /** Make `pool` the one calls go to. */
  #adopt(pool: Piscina<PoolTask, PoolResult>, shape: PluginShape): void {
    this.#pool = pool;
    this.#generation++;
    this.#shape = shape;
    this.#commands = new Set(shape.commands);
  }

  /** A new pool for `build`, its shape probed; destroyed again when it cannot start. */
  async #openPool(build: PluginBuild): Promise<{ pool: Piscina<PoolTask, PoolResult>; shape: PluginShape }> {
    const { manifest, compiled, config } = build;
    materialize(compiled);
    const limits = manifest.limits;
    const workerData: PoolWorkerData = {
      plugin: manifest.name,
      version: manifest.version,
      moduleUrl: compiled.moduleUrl,
      entryFile: manifest.entryFile,
      config,
      logLevel: this.#hooks.logLevel,
    };
    const pool = new Piscina<PoolTask, PoolResult>({
      filename: POOL_WORKER_URL.href,
      workerData,
      execArgv: workerExecArgv(),
      maxThreads: manifest.pool!.maxThreads,
      minThreads: manifest.pool!.minThreads ?? 1,
      idleTimeout: IDLE_TIMEOUT_MS,
      concurrentTasksPerWorker: 1,
      closeTimeout: this.#hooks.startTimeoutMs,
      resourceLimits: {
        maxOldGenerationSizeMb: limits.maxOldGenerationSizeMb,
        maxYoungGenerationSizeMb: limits.maxYoungGenerationSizeMb,
        stackSizeMb: limits.stackSizeMb,
      },
    });
    // A thread that dies with no task of its own (an error thrown from a timer, say) is reported
    // here; piscina throws from emit() when nobody listens, which would take the host down.
    pool.on('error', (err: Error) => this.#onPoolError(pool, err));
    try {
      const shape = await this.#probe(pool);
      if (shape.hasConnect) {
        throw new PlugvisorError('PLUGVISOR_MANIFEST_INVALID',
          `${manifest.manifestFile}: plugvisor.pool: a pooled plugin cannot have a connect() hook (${manifest.entryFile} exports one); ` +
          'remove "pool" to run it in a worker of its own, or remove connect()', { plugin: this.name, file: manifest.manifestFile, key: 'plugvisor.pool' });
      }
      return { pool, shape };
    } catch (err) {
      await pool.destroy();
      throw err;
    }
  }

  /** Ask one thread for the plugin's shape: it imports the plugin and runs state() and setup() first. */
  async #probe(pool: Piscina<PoolTask, PoolResult>): Promise<PoolProbeResult> {
    const timeoutMs = this.#hooks.startTimeoutMs;
    let result: PoolResult;
    try {
      result = await pool.run({ probe: true }, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const why = (err as Error).name === 'AbortError' ? `did not load within ${timeoutMs} ms` : `died while loading: ${(err as Error).message}`;
      throw new PlugvisorError('PLUGVISOR_PLUGIN_LOAD_FAILED', `plugin "${this.name}": its pool thread ${why}`,
        { plugin: this.name, file: this.#build.manifest.entryFile, cause: err });
    }
    if (!result.ok) throw this.#loadError(result.e);
    return result.v as PoolProbeResult;
  }

  #dispatch(call: PoolCall): void {
    if (!this.#commands!.has(call.command)) {
      // Queued before the shape was known.
      if (this.#calls.take(call.id) !== undefined) call.reject(this.#notFound(call.command));
      return;
    }
    const abort = new TaskAbort();
    call.abort = abort;
    call.sentTo = this.#generation;
    const pool = this.#pool!;
    let tasks = this.#tasks.get(pool);
    if (tasks === undefined) this.#tasks.set(pool, (tasks = new Set()));
    const task: Promise<void> = pool.run({ c: call.command, a: call.args }, { signal: abort }).then(
      (result) => this.#onResult(call, result),
      (err: unknown) => this.#onRunError(call, asError(err)),
    ).catch((err: unknown) => {
      // A bug in answering the call must not become an unhandled rejection, which ends the host.
      this.#hooks.log.error({ plugin: this.name, err }, 'answering a pooled call failed');
    }).finally(() => {
      tasks.delete(task);
      if (tasks.size === 0 && this.#tasks.get(pool) === tasks) this.#tasks.delete(pool);
    });
    tasks.add(task);
  }

  #onResult(call: PoolCall, result: PoolResult): void {
    if (result === null || typeof result !== 'object') {
      // Not runTask's answer: piscina may settle the task of a thread that died of `throw null` (or
      // undefined) with that value as its result.
      this.#onRunError(call, asError(result));
      return;
    }
    if (this.#calls.take(call.id) === undefined) {
      this.stats.lateReplies++;
      return;
    }
    if (result.ok) {
      call.resolve(result.v);
      return;
    }
    this.stats.errors++;
    call.reject(result.loadFailed === true ? this.#loadError(result.e) : fromWireError(result.e, 'PLUGVISOR_COMMAND_FAILED', { plugin: this.name, command: call.command }));
  }

  /** piscina rejected the task: its arguments did not clone, or its thread died under it. */
  #onRunError(call: PoolCall, err: Error & { code?: unknown }): void {
    // Already settled: timed out (and aborted) or failed by stop/failure.
    if (this.#calls.take(call.id) === undefined) return;
    this.stats.errors++;
    if (err.name === 'DataCloneError') {
      call.reject(new PlugvisorError('PLUGVISOR_ARGS_NOT_CLONEABLE',
        `plugin "${this.name}": the arguments of "${call.command}" cannot be sent to its pool: ${err.message}`, { plugin: this.name, command: call.command, cause: err }));
      return;
    }
    if (err.name === 'AbortError' || err.message === THREAD_TERMINATION) {
      // Not ours (our aborts settle their call first): the pool is being closed or destroyed.
      call.reject(this.#status === 'failed' ? this.#failedError() : pluginStopped(this.name, `call ${call.command}`, 'in-pool'));
      return;
    }
    const death = deathOf(err);
    call.reject(crashedError(this.name, death, `call "${call.command}"`));
    if (this.#status === 'serving') this.#onThreadDeath(death, 1);
  }

  #onPoolError(pool: Piscina<PoolTask, PoolResult>, err: Error & { code?: string }): void {
    if (pool !== this.#pool || this.#status !== 'serving') {
      this.#hooks.log.warn({ plugin: this.name, err }, 'pool error while not serving');
      return;
    }
    this.#onThreadDeath(deathOf(err), 0);
  }

  #onThreadDeath(death: WorkerDeath, failedCalls: number): void {
    const generation = this.#generation;
    this.#hooks.log.error({ plugin: this.name, generation, reason: death.reason, err: death.error, failedCalls }, 'plugin pool thread crashed');
    this.#hooks.emit('crash', { plugin: this.name, reason: death.reason, generation, failedCalls, error: death.error?.message });
    const decision = this.#restartPolicy.onCrash();
    if (!decision.restart) {
      this.#fail(death, decision.restartsInWindow);
      return;
    }
    // piscina has already replaced the thread (or will on the next task); the other threads never stopped.
    this.#generation++;
    this.stats.restarts++;
    this.#hooks.emit('restart', { plugin: this.name, attempt: decision.attempt, delayMs: 0, generation: this.#generation, state: 'fresh', durationMs: 0 });
  }

  #fail(death: WorkerDeath, restartsInWindow: number): void {
    this.#status = 'failed';
    const { maxRestarts, windowSeconds } = this.#build.manifest.restart;
    this.#failure = crashedError(this.name, death, `restart (more than ${maxRestarts} restarts in ${windowSeconds} s)`);
    this.#hooks.log.error({ plugin: this.name, restartsInWindow }, 'restart intensity exceeded; plugin failed');
    this.#failQueued(() => this.#failedError());
    const failed = this.#calls.failWhere(() => true, () => this.#failedError());
    this.stats.errors += failed;
    const pool = this.#pool;
    this.#pool = undefined;
    void pool?.destroy();
  }

  #onTimeout(call: PoolCall): void {
    this.stats.timeouts++;
    this.stats.errors++;
    if (call.abort === undefined) this.#queue = this.#queue.filter((c) => c !== call);
    const timeoutMs = this.#build.manifest.limits.callTimeoutMs;
    call.reject(new PlugvisorError('PLUGVISOR_CALL_TIMEOUT',
      `plugin "${this.name}": call "${call.command}" did not settle within ${timeoutMs} ms`, { plugin: this.name, command: call.command, timeoutMs }));
    // Queued in the pool: dropped. Running: its thread is terminated and replaced.
    call.abort?.abort();
  }

  /** A thread could not import or activate the plugin: the same errors a single worker's start gives. */
  #loadError(e: WireError): Error {
    const step = e.fields['step'];
    if (typeof step === 'string' && step in STEP_CODES) {
      const cause = fromWireError(e, 'PLUGVISOR_COMMAND_FAILED', { plugin: this.name });
      return new PlugvisorError(STEP_CODES[step]!, `plugin "${this.name}": ${step}() failed: ${e.message}`, { plugin: this.name, step, cause });
    }
    return fromWireError(e, 'PLUGVISOR_PLUGIN_LOAD_FAILED', { plugin: this.name });
  }

  /** A method, not an inline check: status changes across awaits. */
  #stopped(): boolean {
    return this.#status === 'stopping' || this.#status === 'stopped';
  }

  #failQueued(makeError: () => Error): void {
    const queue = this.#queue;
    this.#queue = [];
    for (const call of queue) {
      if (this.#calls.take(call.id) !== undefined) call.reject(makeError());
    }
  }

  #notFound(command: string): PlugvisorError {
    return commandNotFound(this.name, command, this.#commands);
  }

  #failedError(): PlugvisorError {
    return pluginFailed(this.name, this.#failure);
  }

  #stoppedError(what: string): PlugvisorError {
    return pluginStopped(this.name, what);
  }
}

const THREAD_TERMINATION = 'Terminating worker thread';

const STEP_CODES: Record<string, ErrorCode> = {
  state: 'PLUGVISOR_SETUP_FAILED',
  setup: 'PLUGVISOR_SETUP_FAILED',
};

/** Why piscina lost a thread: its 'error' (uncaught, OOM) or its exit ("worker exited with code: N"). */
function deathOf(thrown: unknown): WorkerDeath {
  const err = asError(thrown);
  if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') return { reason: 'oom', error: err };
  const exit = /^worker exited with code: (-?\d+)/.exec(err.message);
  if (exit !== null) return { reason: 'exit', exitCode: Number(exit[1]) };
  return { reason: 'uncaught', error: err };
}

/**
 * The manifest-level restrictions of a pooled plugin. readManifest() already refuses `pool` together
 * with `dependsOn`; this guards runtimes built from manifests made elsewhere.
 */
export function assertPoolable(manifest: PluginManifest): void {
  if (manifest.pool === undefined) throw new Error(`plugvisor: plugin "${manifest.name}" is not pooled`);
  const deps = Object.keys(manifest.dependsOn);
  if (deps.length > 0) {
    throw new PlugvisorError('PLUGVISOR_MANIFEST_INVALID',
      `${manifest.manifestFile}: plugvisor.dependsOn: a pooled plugin (plugvisor.pool) cannot depend on other plugins (${deps.join(', ')})`,
      { plugin: manifest.name, file: manifest.manifestFile, key: 'plugvisor.dependsOn' });
  }
}

/** A pool opened for a reload before its pause (PoolRuntime.prepareBuild). */
export interface PreparedPool {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** A plugin may not depend on a pooled one: a pool has no single worker to open a channel to. */
export function assertNotPooledDependency(dependent: PluginManifest, dependency: PluginManifest): void {
  if (dependency.pool === undefined) return;
  const key = `plugvisor.dependsOn.${dependency.name}`;
  throw new PlugvisorError('PLUGVISOR_MANIFEST_INVALID',
    `${dependent.manifestFile}: ${key}: "${dependency.name}" is a pooled plugin (plugvisor.pool in ${dependency.manifestFile}) and cannot be a dependency`,
    { plugin: dependent.name, file: dependent.manifestFile, key, dependency: dependency.name });
}
