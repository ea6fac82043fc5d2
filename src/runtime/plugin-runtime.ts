/**
 * One loaded plugin on the host: its route (where calls go), its pending calls, its worker and the
 * restart policy that replaces the worker when it dies.
 *
 *   call() ──▶ CallTable (id, deadline) ──▶ route open?  ──yes──▶ transport.send (batched)
 *                                           │no (starting, restarting, reload pause)
 *                                           └──▶ #queue, released in issue order
 *
 * Every pending call remembers the worker generation it was sent to: a reply from any other
 * generation is late (its worker was replaced) and is dropped and counted, never matched.
 */
import { MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import { PlugvisorError, type ErrorCode } from '../errors.js';
import { CallTable, type PendingCall } from '../protocol/call-table.js';
import type { CallMessage, ControlOps, ErrMessage, OkMessage, PeerWiring, PluginShape } from '../protocol/messages.js';
import { copyImage, imageDetached, imageTransferList, type StateImage } from '../protocol/state-image.js';
import { fromWireError } from '../protocol/wire-error.js';
import { materialize, type CompiledPlugin } from '../plugin/compile-plugin.js';
import type { PluginManifest } from '../plugin/manifest.js';
import { crashedError, type WorkerDeath } from './crash.js';
import { RestartPolicy } from './restart-policy.js';
import { settlesWithin } from '../settles-within.js';
import type { SpareWorkers } from './spare-workers.js';
import { workerExecArgv } from './worker-exec-argv.js';
import { commandNotFound, pluginFailed, pluginStopped } from './runtime-errors.js';
import { WorkerTransport } from './worker-transport.js';
import type { ManagedPlugin } from './managed-plugin.js';

export type PluginStatus = 'registered' | 'starting' | 'serving' | 'reloading' | 'restarting' | 'failed' | 'stopping' | 'stopped';

/** What the supervisor lends a plugin runtime. */
export interface RuntimeHooks {
  /**
   * Fresh channels to `dependsOn` (starting lazy ones), the dependencies of the version being
   * activated. `targets` overrides where a dependency is served: during a reload, by its new, not
   * yet committed, worker.
   */
  wireDependencies(dependsOn: Record<string, string>, targets?: ReadonlyMap<string, WorkerTransport>): Promise<PeerWiring[]>;
  /** A new worker of this plugin serves: give its dependents channels to it. */
  workerReady(runtime: PluginRuntime): Promise<void>;
  /** A call of this plugin's worker to dependency `name` timed out: is that dependency's worker still answering? */
  dependencyTimedOut?(name: string): void;
  emit(event: 'crash' | 'restart', payload: Record<string, unknown>): void;
  /** The state a start or crash restart begins with (a backup), or undefined for state(). */
  savedState(runtime: PluginRuntime): Promise<SavedState | undefined>;
  /** Called once calls in flight are drained at stop(), before dispose(): the moment for a last checkpoint. */
  beforeDispose(runtime: PluginRuntime, transport: WorkerTransport): Promise<void>;
  log: Logger;
  logLevel: string;
  startTimeoutMs: number;
  v8CacheDir?: string;
  /** Where a new worker comes from when one was started ahead. */
  spares?: SpareWorkers;
}

/** What a plugin version is made of: manifest, compiled code and validated config. */
export interface PluginBuild {
  manifest: PluginManifest;
  compiled: CompiledPlugin;
  config: unknown;
}

type Call = PendingCall & { args: unknown[] };

export interface ActivateOptions {
  /** A full state to restore (else state() creates one). */
  state?: StateImage;
  /** Delta transfer: the changes to apply to the state staged in the worker. */
  delta?: StateImage;
  /** The state comes from the old worker over this port instead (see the detach operation), or the one staged in the worker... */
  handoff?: MessagePort | 'staged';
  /** ...which may take it this long (ms) on top of the activation's own bound. */
  handoffWithinMs?: number;
  /** The version the state comes from, for migrate(). */
  fromVersion?: string;
  /** Dependencies being reloaded in the same transaction: wire to these workers. */
  targets?: ReadonlyMap<string, WorkerTransport>;
  /** The dependencies of the version being activated (a reload's new build; else the running one's). */
  dependsOn?: Record<string, string>;
  /** Run health() after setup() and report it, allowing it this long (ms) on top of the activation's own bound. */
  healthWithinMs?: number;
  /**
   * Channels to the dependencies opened beforehand (wireDependencies): the request is then posted
   * before activate() returns, with no await in between.
   */
  wired?: PeerWiring[];
}

/** A state to start from instead of state(): a backup on disk, or a reload's snapshot. */
export interface SavedState {
  state: StateImage;
  /** 'backup' or 'reload-snapshot': reported by the restart event. */
  source: string;
  /** The version that wrote it: given to migrate() as fromVersion. */
  fromVersion?: string;
  /** It would not restore (corrupt, or migrate refused it): stop using it. The plugin then starts fresh. */
  discard?(err: Error): void;
}

export interface CallStats {
  calls: number;
  errors: number;
  timeouts: number;
  lateReplies: number;
  restarts: number;
}

export class PluginRuntime implements ManagedPlugin {
  readonly name: string;
  readonly #hooks: RuntimeHooks;
  readonly #calls: CallTable;
  readonly #restartPolicy: RestartPolicy;
  #build: PluginBuild;
  #status: PluginStatus = 'registered';
  #transport: WorkerTransport | undefined;
  /** A worker being activated (a start, a reload's new worker) and the dependencies it is wired to. */
  #incoming: { transport: WorkerTransport; dependsOn: Record<string, string> } | undefined;
  #shape: PluginShape | undefined;
  #commands: Set<string> | undefined;
  #generation = 0;
  /** Calls waiting for the route to open, in issue order. */
  #queue: Call[] = [];
  #routeOpen = false;
  #starting: Promise<void> | undefined;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #restartAttempt = 0;
  /** A reload took over a plugin waiting to restart: its restart is due again if the reload fails. */
  #restartHeld = false;
  #checkingLiveness = false;
  /** The worker asked which calls it has not answered, after one of its messages was lost (see #onMessageError). */
  #findingLost: { transport: WorkerTransport; again: boolean } | undefined;
  #drainWaiters: Array<() => void> = [];
  #lastLoaded: Date | undefined;
  #reloadCount = 0;
  #failure: Error | undefined;
  /** Set while a reload transaction owns the plugin: a death then is the transaction's to handle. */
  #reloading = false;
  /**
   * Starts asked for while a reload owns the plugin, or while it waits out a restart's back-off:
   * asked again once the reload has ended, or the restart has run or been called off.
   */
  #startWaiters: Array<() => void> = [];
  #deathDuringReload: WorkerDeath | undefined;
  /** The state the next restart starts from, when a reload left one behind. */
  #pendingRestore: SavedState | undefined;
  /** A worker of this plugin used ctx.log: the next ones create their logger while starting. */
  #usesLogger = false;
  /** Where the running worker's state came from: 'fresh', 'backup', 'reload-snapshot' or 'reload'. */
  #stateSource = 'fresh';
  readonly stats: CallStats = { calls: 0, errors: 0, timeouts: 0, lateReplies: 0, restarts: 0 };

  constructor(build: PluginBuild, hooks: RuntimeHooks) {
    this.name = build.manifest.name;
    this.#build = build;
    this.#hooks = hooks;
    this.#restartPolicy = new RestartPolicy(build.manifest.restart);
    this.#calls = new CallTable((call) => this.#onTimeout(call as Call));
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

  get generation(): number {
    return this.#generation;
  }

  get lastLoaded(): Date | undefined {
    return this.#lastLoaded;
  }

  get reloadCount(): number {
    return this.#reloadCount;
  }

  get stateSource(): string {
    return this.#stateSource;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  get transport(): WorkerTransport | undefined {
    return this.#transport;
  }

  get pendingCalls(): number {
    return this.#calls.size;
  }

  /** Start the worker now (eager activation), or on the first call (lazy). Concurrent callers share one start. */
  ensureStarted(): Promise<void> {
    if (this.#status === 'serving' || this.#status === 'reloading') return Promise.resolve();
    // A start now would run the code the plugin has until the swap (wait for the reload's outcome),
    // or skip the back-off a crash restart waits out (wait for that restart).
    if (this.#reloading || (this.#status === 'restarting' && this.#starting === undefined)) {
      return new Promise<void>((resolve) => this.#startWaiters.push(resolve)).then(() => this.ensureStarted());
    }
    if (this.#status === 'failed') return Promise.reject(this.#failedError());
    if (this.#status === 'stopping' || this.#status === 'stopped') return Promise.reject(this.#stoppedError('start'));
    if (this.#starting === undefined) {
      this.#status = 'starting';
      const starting: Promise<void> = this.#startFirst().finally(() => {
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
    if (this.#commands !== undefined && !this.#commands.has(command)) {
      return Promise.reject(commandNotFound(this.name, command, this.#commands));
    }
    this.stats.calls++;
    return new Promise((resolve, reject) => {
      const call = this.#calls.add(command, this.#build.manifest.limits.callTimeoutMs, resolve, reject) as Call;
      call.args = args;
      if (this.#routeOpen) this.#send(call);
      else this.#queue.push(call);
      if (status === 'registered') this.ensureStarted().catch(() => { /* the queued call is failed by the start */ });
    });
  }

  /** The reload transaction has let go of the plugin: starts asked for meanwhile go ahead. */
  #endReload(): void {
    this.#reloading = false;
    this.#releaseStartWaiters();
  }

  #releaseStartWaiters(): void {
    for (const resume of this.#startWaiters.splice(0)) resume();
  }

  /** Hold new calls on the host, in order (the reload pause). */
  pauseRoute(): void {
    this.#routeOpen = false;
  }

  /** Let calls through to the current worker again, queued ones first. */
  resumeRoute(): void {
    this.#routeOpen = true;
    const queue = this.#queue;
    this.#queue = [];
    for (const call of queue) this.#send(call);
  }

  /** Resolves when no call sent to the current worker is still waiting for its reply. */
  drain(): Promise<void> {
    if (this.#inFlight() === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Stop: drain calls in flight (bounded), dispose the plugin, end its worker. Safe to call twice. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#status === 'stopped') return;
    const wasStarting = this.#starting;
    this.#status = 'stopping';
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer);
    this.#releaseStartWaiters();
    if (wasStarting !== undefined) await wasStarting.catch(() => undefined);
    this.#failQueued(() => this.#stoppedError('call'));
    const transport = this.#transport;
    if (transport !== undefined && transport.alive) {
      await settlesWithin(this.drain(), timeoutMs);
      await this.#hooks.beforeDispose(this, transport).catch((err: Error) =>
        this.#hooks.log.warn({ plugin: this.name, err }, 'last state checkpoint failed'));
      await transport.control('dispose', null, timeoutMs).catch((err: Error) =>
        this.#hooks.log.warn({ plugin: this.name, err }, 'dispose() failed'));
      await transport.terminate();
    }
    // Sent to the worker and still unanswered after the drain: they had started.
    this.#calls.failWhere(() => true, (c) => pluginStopped(this.name, `call ${c.command}`, 'running'));
    this.#calls.close();
    this.#transport = undefined;
    this.#status = 'stopped';
  }

  #startFirst(): Promise<void> {
    return this.#hooks.savedState(this).then((saved) => this.#startWorker(saved)).then(
      () => {
        this.#lastLoaded = new Date();
      },
      (err: Error) => {
        // A plugin that cannot start fails its waiting calls with the reason, and can be retried:
        // a call made as soon as they hear of it (before this promise settles) starts afresh.
        this.#status = 'registered';
        this.#starting = undefined;
        this.#failQueued(() => err);
        throw err;
      },
    );
  }

  /** Start a worker, activate it with a saved state (or a fresh one), make it the route's target. */
  async #startWorker(saved: SavedState | undefined): Promise<void> {
    const transport = await this.spawn(this.#build);
    try {
      await this.activate(transport, { state: saved?.state, fromVersion: saved?.fromVersion });
    } catch (err) {
      await transport.terminate();
      const step = (err as { step?: string }).step;
      if (saved?.discard !== undefined && (step === 'restore' || step === 'migrate')) {
        // A saved state that does not restore must not keep the plugin down: start from state().
        saved.discard(err as Error);
        return this.#startWorker(undefined);
      }
      throw err;
    }
    this.#stateSource = saved?.source ?? 'fresh';
    this.#adopt(transport);
    await this.#hooks.workerReady(this);
    this.#status = 'serving';
    this.resumeRoute();
  }

  /** Start a worker for `build`, loaded but not activated. */
  spawn(build: PluginBuild): Promise<WorkerTransport> {
    const { manifest, compiled, config } = build;
    materialize(compiled);
    const generation = ++this.#generation;
    let transport: WorkerTransport | undefined;
    let strayWarned = false;
    const resourceLimits = {
      maxOldGenerationSizeMb: manifest.limits.maxOldGenerationSizeMb,
      maxYoungGenerationSizeMb: manifest.limits.maxYoungGenerationSizeMb,
      stackSizeMb: manifest.limits.stackSizeMb,
    };
    const execArgv = workerExecArgv();
    return WorkerTransport.start({
      workerData: {
        protocol: 1,
        plugin: manifest.name,
        version: manifest.version,
        generation,
        moduleUrl: compiled.moduleUrl,
        entryFile: manifest.entryFile,
        config,
        logLevel: this.#hooks.logLevel,
        v8CacheDir: this.#hooks.v8CacheDir,
        preloadLogger: this.#usesLogger,
      },
      resourceLimits,
      startTimeoutMs: this.#hooks.startTimeoutMs,
      execArgv,
      prestarted: this.#hooks.spares?.take({ resourceLimits, execArgv }),
      onReply: (reply) => this.#onReply(reply),
      onStrayMessage: (message) => {
        if (strayWarned) return;
        strayWarned = true;
        this.#hooks.log.warn({ plugin: manifest.name, generation, message: describeStray(message) },
          'the plugin posted a message of its own on parentPort: dropped (use sup.connect() and connect(ctx, port) for a channel of your own)');
      },
      onLoggerUsed: () => {
        this.#usesLogger = true;
      },
      onPeerTimeout: (name) => this.#hooks.dependencyTimedOut?.(name),
      onMessageError: (err) => {
        if (transport !== undefined) this.#onMessageError(transport, err);
      },
      onCloneError: (message, err) => this.#onCloneError(message, err),
      onDeath: (death) => {
        if (transport !== undefined) this.#onDeath(transport, death);
      },
    }).then((t) => (transport = t));
  }

  /** Open channels from a worker about to be activated to its dependencies' running workers (see ActivateOptions.wired). */
  wireDependencies(dependsOn: Record<string, string>): Promise<PeerWiring[]> {
    return this.#hooks.wireDependencies(dependsOn);
  }

  /**
   * Activate a loaded worker: wire its dependencies, restore or create its state, run setup (and
   * health(), when asked, in the same round trip). The state's buffers are moved to the worker.
   */
  async activate(transport: WorkerTransport, options: ActivateOptions = {}): Promise<ControlOps['activate']['res']> {
    const { state, delta, handoff, fromVersion, targets, healthWithinMs, handoffWithinMs } = options;
    const health = healthWithinMs !== undefined;
    const dependsOn = options.dependsOn ?? this.manifest.dependsOn;
    const peers = options.wired ?? await this.#hooks.wireDependencies(dependsOn, targets);
    // From here a restarted dependency re-wires this worker too; set no earlier, or a re-wire could
    // overtake the activate request and be replaced by the channel it carries.
    this.#incoming = { transport, dependsOn };
    const timeoutMs = this.#hooks.startTimeoutMs + (healthWithinMs ?? 0) + (handoff === undefined ? 0 : handoffWithinMs ?? 0);
    try {
      const transfer = [...peers.map((p) => p.port), ...[state, delta].flatMap((image) => (image === undefined ? [] : imageTransferList(image)))];
      if (handoff instanceof MessagePort) transfer.push(handoff);
      return await transport.control('activate', { state, delta, handoff, fromVersion, peers, health }, timeoutMs, transfer);
    } catch (err) {
      // Channels the request never carried would stay served by the dependencies (closing one
      // that was transferred is a no-op).
      for (const peer of peers) peer.port.close();
      throw activationError(this.name, err);
    }
  }

  workersWiredTo(dependency: string): WorkerTransport[] {
    const wired: WorkerTransport[] = [];
    if (this.#transport?.alive === true && dependency in this.manifest.dependsOn) wired.push(this.#transport);
    const incoming = this.#incoming;
    if (incoming !== undefined && incoming.transport.alive && dependency in incoming.dependsOn) wired.push(incoming.transport);
    return wired;
  }

  /**
   * No running worker, but a start would run the new code now: failed, waiting to restart, or eager
   * and not running. A reload then activates its new worker in the pause like any other member of
   * its group, wired to the group's new versions. A lazy plugin nobody has called keeps waiting.
   */
  startsWithReload(build: PluginBuild): boolean {
    if (this.#transport?.alive === true) return false;
    return this.#status === 'failed' || this.#status === 'restarting' || (this.#status === 'registered' && build.manifest.activation === 'eager');
  }

  get startUnderWay(): boolean {
    return this.#starting !== undefined;
  }

  /** Resolves once a start or restart under way has ended, however it ended. */
  async startSettled(): Promise<void> {
    await this.#starting?.catch(() => undefined);
  }

  /**
   * The state a start would begin from (startsWithReload): the snapshot a failed reload left, a
   * backup, or none (state()). A copy of the left snapshot: the reload may still roll back.
   */
  async stateForStart(): Promise<SavedState | undefined> {
    const pending = this.#pendingRestore;
    if (pending !== undefined) return { ...pending, state: copyImage(pending.state) };
    return this.#hooks.savedState(this);
  }

  /** A reload transaction takes the plugin over: new calls queue on the host, deaths are reported to it. */
  beginReload(): WorkerTransport | undefined {
    this.#routeOpen = false;
    this.#reloading = true;
    this.#deathDuringReload = undefined;
    if (this.#status === 'serving') this.#status = 'reloading';
    // A restart due meanwhile would start the old code beside the reload's new worker.
    if (this.#restartTimer !== undefined) {
      clearTimeout(this.#restartTimer);
      this.#restartTimer = undefined;
      this.#restartHeld = true;
    }
    return this.#transport?.alive ? this.#transport : undefined;
  }

  /** Did the worker the reload started from die during it? */
  get diedDuringReload(): boolean {
    return this.#deathDuringReload !== undefined;
  }

  /**
   * The swap: `next` (activated and healthy) serves from now on; queued calls go to it in order.
   * `stateSource` is where its state came from: the old worker ('reload'), or for a plugin the
   * reload started (startsWithReload) what a start uses.
   */
  commitReload(next: WorkerTransport, build: PluginBuild, stateSource = 'reload'): void {
    this.#build = build;
    this.#stateSource = stateSource;
    this.#adopt(next);
    this.#endReload();
    this.#reloadCount++;
    this.#lastLoaded = new Date();
    if (this.#status !== 'reloading') {
      // Started by the reload: whatever kept it down is over.
      this.#failure = undefined;
      this.#restartPolicy.reset();
      this.#pendingRestore = undefined;
      this.#restartHeld = false;
    }
    this.#status = 'serving';
    this.resumeRoute();
  }

  /**
   * The reload failed: the old worker serves again with its state. If it died meanwhile, it is
   * restarted as after any crash, from the reload's snapshot when one was taken.
   */
  abortReload(snapshot: StateImage | undefined): void {
    this.#endReload();
    this.#incoming = undefined;
    const death = this.#deathDuringReload;
    this.#deathDuringReload = undefined;
    if (this.#restartHeld) {
      this.#restartHeld = false;
      if (this.#status === 'restarting') this.#armRestart(this.#restartAttempt, 0);
    }
    if (death === undefined) {
      if (this.#status === 'reloading') this.#status = 'serving';
      // Only to a live worker: the one a failed or restarting plugin last had is dead, and a call
      // sent to it would wait for its timeout; queued, a call starts the plugin (or fails with why not).
      if (this.#transport?.alive === true) this.resumeRoute();
      return;
    }
    // A snapshot already handed to the new worker is detached (empty) and cannot serve.
    const usable = snapshot !== undefined && !imageDetached(snapshot);
    this.#pendingRestore = usable ? { state: snapshot, source: 'reload-snapshot', fromVersion: this.manifest.version } : undefined;
    this.#scheduleRestart(death);
  }

  /**
   * New code for a plugin that has no running worker (lazy and not started, failed, or waiting to
   * restart): it takes effect at the next start, which happens now unless the plugin is lazy.
   */
  async replaceBuild(build: PluginBuild): Promise<void> {
    this.#build = build;
    this.#endReload();
    this.#reloadCount++;
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    const wasActive = this.#status === 'failed' || this.#status === 'restarting';
    if (wasActive || this.#status === 'reloading') this.#status = 'registered';
    this.#failure = undefined;
    this.#restartPolicy.reset();
    if (wasActive || build.manifest.activation === 'eager' || this.#queue.length > 0) await this.ensureStarted();
  }

  /** A new config, delivered to the running worker by configChanged(): later starts use it too. */
  async updateConfig(config: unknown, timeoutMs: number): Promise<void> {
    await this.#transport?.control('configure', { config }, timeoutMs);
    this.#build = { ...this.#build, config };
  }

  /** Make `transport` the worker calls go to. */
  #adopt(transport: WorkerTransport): void {
    if (this.#incoming?.transport === transport) this.#incoming = undefined;
    this.#transport = transport;
    this.#shape = transport.shape;
    this.#commands = new Set(transport.shape.commands);
  }

  #send(call: Call): void {
    const transport = this.#transport!;
    call.sentTo = transport.generation;
    transport.send({ t: 'call', id: call.id, c: call.command, a: call.args });
  }

  #onReply(reply: OkMessage | ErrMessage): void {
    const call = this.#calls.get(reply.id);
    if (call === undefined || call.sentTo !== reply.g) {
      this.stats.lateReplies++;
      return;
    }
    // Read before the call is taken: a malformed error (the plugin can post on parentPort) throws
    // here and is dropped as a stray message, leaving the call to its answer or its timeout.
    if (reply.t === 'ok') {
      this.#calls.take(reply.id);
      call.resolve(reply.v);
    } else {
      const err = fromWireError(reply.e, 'PLUGVISOR_COMMAND_FAILED', { plugin: this.name, command: call.command });
      this.#calls.take(reply.id);
      this.stats.errors++;
      call.reject(err);
    }
    if (this.#drainWaiters.length > 0) this.#checkDrained();
  }

  #onCloneError(message: CallMessage, err: unknown): void {
    const call = this.#calls.take(message.id);
    if (call === undefined) return;
    this.stats.errors++;
    call.reject(new PlugvisorError('PLUGVISOR_ARGS_NOT_CLONEABLE',
      `plugin "${this.name}": the arguments of "${message.c}" cannot be sent to its worker: ${(err as Error).message}`,
      { plugin: this.name, command: message.c, cause: err }));
    if (this.#drainWaiters.length > 0) this.#checkDrained();
  }

  #onTimeout(call: Call): void {
    this.stats.timeouts++;
    this.stats.errors++;
    if (call.sentTo === 0) this.#queue = this.#queue.filter((c) => c !== call);
    const timeoutMs = this.#build.manifest.limits.callTimeoutMs;
    call.reject(new PlugvisorError('PLUGVISOR_CALL_TIMEOUT',
      `plugin "${this.name}": call "${call.command}" did not settle within ${timeoutMs} ms`, { plugin: this.name, command: call.command, timeoutMs }));
    if (this.#drainWaiters.length > 0) this.#checkDrained();
    const transport = this.#transport;
    if (transport !== undefined && call.sentTo === transport.generation) this.#checkLiveness(transport);
  }

  /**
   * A dependent's call to this plugin timed out (calls between plugins bypass the host's call
   * table): ping the serving worker, and replace it if it no longer answers, as after a call of the host.
   */
  checkLiveness(): void {
    const transport = this.#transport;
    if (transport !== undefined) this.#checkLiveness(transport);
  }

  /** A timeout alone does not restart a worker: only one whose event loop no longer answers. */
  #checkLiveness(transport: WorkerTransport): void {
    if (this.#checkingLiveness || !transport.alive) return;
    this.#checkingLiveness = true;
    void transport.ping(this.#build.manifest.limits.pingTimeoutMs).then((answered) => {
      this.#checkingLiveness = false;
      if (!answered && transport.alive) {
        this.#hooks.log.warn({ plugin: this.name, generation: transport.generation }, 'worker stopped answering; terminating it');
        transport.kill('unresponsive');
      }
    });
  }

  /**
   * A message from the worker could not be read on the host, and the replies in it are lost with
   * it (a result nested deeper than the host's stack can deserialise, and any reply batched with
   * it). The calls would otherwise wait for their timeout and report one: ask the worker which of
   * the calls sent to it are still running; the others were answered in that message, and fail.
   */
  #onMessageError(transport: WorkerTransport, err: Error): void {
    this.#hooks.log.error({ plugin: this.name, generation: transport.generation, err }, 'a message from the plugin worker could not be read on the host: failing the calls it answered');
    this.#findLostReplies(transport, err);
  }

  #findLostReplies(transport: WorkerTransport, err: Error): void {
    if (this.#findingLost?.transport === transport) {
      this.#findingLost.again = true;
      return;
    }
    const finding = { transport, again: false };
    this.#findingLost = finding;
    const sent = [...this.#calls.values()].filter((c) => c.sentTo === transport.generation);
    transport.control('unanswered', null, this.#build.manifest.limits.callTimeoutMs).then((ids) => {
      const running = new Set(ids);
      for (const call of sent) {
        if (running.has(call.id) || this.#calls.take(call.id) === undefined) continue;
        this.stats.errors++;
        call.reject(new PlugvisorError('PLUGVISOR_RESULT_NOT_CLONEABLE',
          `plugin "${this.name}": the reply to call "${call.command}" was lost: the message carrying it could not be read on the host (${err.message}); ` +
          'a result nested too deeply for the host to deserialise, in this call or one answered with it, does this', { plugin: this.name, command: call.command, cause: err }));
      }
      if (this.#drainWaiters.length > 0) this.#checkDrained();
    }, () => {
      // The worker died or does not answer: its calls fail with that, or time out.
    }).finally(() => {
      if (this.#findingLost === finding) this.#findingLost = undefined;
      if (finding.again) this.#findLostReplies(transport, err);
    });
  }

  #onDeath(transport: WorkerTransport, death: WorkerDeath): void {
    const failed = this.#calls.failWhere((c) => c.sentTo === transport.generation, (c) => crashedError(this.name, death, `call "${c.command}"`));
    this.stats.errors += failed;
    if (this.#drainWaiters.length > 0) this.#checkDrained();
    if (transport !== this.#transport) return; // a standby or replaced worker: the reload handles it
    this.#routeOpen = false;
    if (this.#reloading) {
      this.#deathDuringReload = death;
      this.#hooks.emit('crash', { plugin: this.name, reason: death.reason, generation: transport.generation, failedCalls: failed, error: death.error?.message });
      return;
    }
    this.#hooks.log.error({ plugin: this.name, generation: transport.generation, reason: death.reason, err: death.error, failedCalls: failed }, 'plugin worker crashed');
    this.#hooks.emit('crash', { plugin: this.name, reason: death.reason, generation: transport.generation, failedCalls: failed, error: death.error?.message });
    if (this.#status === 'stopping' || this.#status === 'stopped') return;
    this.#scheduleRestart(death);
  }

  #scheduleRestart(death: WorkerDeath): void {
    const decision = this.#restartPolicy.onCrash();
    if (!decision.restart) {
      this.#status = 'failed';
      const { maxRestarts, windowSeconds } = this.#build.manifest.restart;
      this.#failure = crashedError(this.name, death, `restart (more than ${maxRestarts} restarts in ${windowSeconds} s)`);
      this.#hooks.log.error({ plugin: this.name, restartsInWindow: decision.restartsInWindow }, 'restart intensity exceeded; plugin failed');
      this.#failQueued(() => this.#failedError());
      return;
    }
    this.#status = 'restarting';
    this.#armRestart(decision.attempt, decision.delayMs);
  }

  #armRestart(attempt: number, delayMs: number): void {
    this.#restartAttempt = attempt;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      // Tracked like a first start, so that stop() waits for it instead of leaking its worker.
      const restarting: Promise<void> = this.#restart(attempt, delayMs).finally(() => {
        if (this.#starting === restarting) this.#starting = undefined;
        this.#releaseStartWaiters();
      });
      this.#starting = restarting;
    }, delayMs);
  }

  async #restart(attempt: number, delayMs: number): Promise<void> {
    if (this.#status !== 'restarting') return;
    const t0 = performance.now();
    try {
      const saved = this.#pendingRestore ?? await this.#hooks.savedState(this);
      this.#pendingRestore = undefined;
      await this.#startWorker(saved);
      this.stats.restarts++;
      this.#hooks.emit('restart', {
        plugin: this.name, attempt, delayMs, generation: this.#generation, state: this.#stateSource, durationMs: performance.now() - t0,
      });
    } catch (err) {
      if (this.#status !== 'restarting') return;
      this.#hooks.log.error({ plugin: this.name, err }, 'restart failed');
      this.#scheduleRestart({ reason: 'exit', error: err as Error });
    }
  }

  #inFlight(): number {
    const generation = this.#transport?.generation;
    let n = 0;
    for (const call of this.#calls.values()) if (call.sentTo !== 0 && call.sentTo === generation) n++;
    return n;
  }

  #checkDrained(): void {
    if (this.#inFlight() > 0) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #failQueued(makeError: () => Error): void {
    const queue = this.#queue;
    this.#queue = [];
    for (const call of queue) {
      if (this.#calls.take(call.id) !== undefined) call.reject(makeError());
    }
  }

  #failedError(): PlugvisorError {
    return pluginFailed(this.name, this.#failure);
  }

  #stoppedError(what: string): PlugvisorError {
    return pluginStopped(this.name, what);
  }
}

const STEP_CODES: Record<string, ErrorCode> = {
  state: 'PLUGVISOR_SETUP_FAILED',
  setup: 'PLUGVISOR_SETUP_FAILED',
  migrate: 'PLUGVISOR_MIGRATE_FAILED',
  restore: 'PLUGVISOR_STATE_RESTORE_FAILED',
  health: 'PLUGVISOR_HEALTH_FAILED',
};

/** A hook that threw while activating: a supervisor error naming the step, the plugin's error as cause. */
function activationError(plugin: string, err: unknown): Error {
  const step = (err as { step?: unknown })?.step;
  if (typeof step !== 'string' || !(step in STEP_CODES)) return err as Error;
  const cause = err as Error;
  return new PlugvisorError(STEP_CODES[step]!, `plugin "${plugin}": ${step}() failed: ${cause.message}`, { plugin, step, cause });
}

/** A stray message, short enough for a log line. */
function describeStray(message: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(message) ?? String(message);
  } catch {
    text = Object.prototype.toString.call(message);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
