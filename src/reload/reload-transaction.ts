/**
 * The swap transaction: replaces one plugin, and the plugins that depend on it, with their new
 * code while callers keep calling; any failure leaves the old versions serving with their state.
 *
 *   before the pause (callers are served by the old workers all along)
 *     prepare   read package.json, compile (esbuild), read the plugin config
 *     validate  engines, dependsOn ranges against the new versions, connect() kept
 *     spawn     start the new workers: import and check the plugin's shape (a pooled plugin: open its new pool)
 *     precopy   stateTransfer "delta": the old worker starts tracking changes and sends its whole
 *               state, which the new worker deserialises and keeps (staged); "full": the old
 *               worker reserves the buffers its snapshot will copy large typed arrays into
 *   pause: new calls queue on the host, in order; one round trip per old worker (dependents first):
 *     drain     the calls in flight on the old workers are answered
 *     detach    old workers hold their dependents' channels, finish running commands and hand
 *               their client channels (sup.connect) back, messages still queued inside them
 *     snapshot  node:v8 serialise of each old state; delta: only what changed
 *               since the precopy; large typed arrays travel in buffers of their own
 *     activate  new workers: wire dependencies (to the new versions in the group), restore the
 *               state, migrate(old, { fromVersion }), setup(); a plugin with no running worker
 *               that would start (failed, waiting to restart, eager) starts here, from what a
 *               start uses (a backup, state())
 *     health    (same round trip) only { ok: true } commits
 *     transfer  client channels to the new workers: connect(ctx, port, { resumed: true })
 *     swap      the routing table points at the new workers (and pools); queued calls go to them in order
 *   after the pause
 *     dispose   dispose() in the old versions, then their workers end
 *
 *   failure before the swap: new workers end; old workers resume (held channels served, client
 *   channels handed back); queued calls go to the old workers in order. A plugin whose old
 *   worker died meanwhile restarts as after a crash, from the snapshot if one was taken.
 *
 * Dependency channels are not moved: every dependent of a reloaded plugin is reloaded in the same
 * transaction and gets new channels to the new version, so nothing is in flight on the old ones.
 */
import { MessageChannel, MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { Logger } from 'pino';
import semver from 'semver';
import { topologicalOrder } from '../dependency-graph.js';
import { PlugvisorError, isPlugvisorError } from '../errors.js';
import type { PluginManifest } from '../plugin/manifest.js';
import type { ManagedPlugin } from '../runtime/managed-plugin.js';
import { PluginRuntime, type PluginBuild } from '../runtime/plugin-runtime.js';
import { PoolRuntime, type PreparedPool } from '../runtime/pool-runtime.js';
import type { WorkerTransport } from '../runtime/worker-transport.js';
import { settlesWithin } from '../settles-within.js';
import { imageSize, imageTransferList, type StateImage } from '../protocol/state-image.js';
import { PhaseClock } from './phase-clock.js';
import type { ControlOps, HandedState, PeerWiring } from '../protocol/messages.js';
import type { ReloadResult, ReloadStep } from './reload-result.js';

export interface ReloadContext {
  log: Logger;
  timeoutMs: number;
  /** How long a new worker's activation (restore, migrate, setup) may take: reload.timeout, with a floor. */
  startTimeoutMs: number;
  validate: boolean;
  readManifest(dir: string, checkEngines: boolean): PluginManifest;
  buildPlugin(manifest: PluginManifest): Promise<PluginBuild>;
  /** Loaded version of a plugin outside the transaction. */
  loadedVersion(name: string): string | undefined;
  /** Each loaded plugin's dependsOn names, as loaded now. */
  dependsOnGraph(): ReadonlyMap<string, readonly string[]>;
  /** Start a plugin a new version depends on, if it has no running worker (with the code it has). */
  startDependency(name: string): Promise<void>;
  /** Keep the pre-reload state on disk (reload --backup-state); returns the file. */
  backupBefore?(plugin: string, version: string, state: Uint8Array): string;
  /** After the swap, outside the pause: e.g. checkpoint the new version's state. */
  afterSwap?(runtime: PluginRuntime): Promise<void>;
}

interface Slot {
  runtime: ManagedPlugin;
  /** The runtime when the plugin runs in a worker of its own; pooled plugins only swap their pool. */
  worker?: PluginRuntime;
  fromVersion: string;
  build?: PluginBuild;
  /** The running worker, when the plugin has one. */
  old?: WorkerTransport;
  /**
   * The running worker the precopy step reached (reserve or precopy), set before the pause: a
   * rollback that comes before the pause (no `old` yet) still sends it resume, which drops its
   * reserved buffers and stops its tracking.
   */
  prepared?: WorkerTransport;
  next?: WorkerTransport;
  /**
   * No running worker, but the new code starts now (failed, waiting to restart, eager): `next` is
   * activated in the pause from what a start uses, wired to the group's new versions.
   */
  starts: boolean;
  /** Where a started plugin's state came from (a backup, a failed reload's snapshot), for info(). */
  startSource?: string;
  /** A pooled plugin's new pool, opened before the pause: committed at the swap, discarded by a rollback. */
  pool?: PreparedPool;
  detached: boolean;
  clientPorts: MessagePort[];
  snapshot?: StateImage;
  /** Delta transfer: the old worker tracks changes since the precopy. */
  tracking: boolean;
  precopyBytes: number;
  /** Bytes moved inside the pause (snapshot or delta); the buffers themselves are transferred away. */
  stateBytes: number;
  delta?: StateImage;
  backupFile?: string;
  /** A detach request the transaction stopped waiting for (reload.timeout). */
  pendingDetach?: Promise<ControlOps['detach']['res']>;
  /**
   * The new worker's end of the channel the old worker posts the state on, for the activation: on
   * the host, or "staged" (the new worker has it). Set by detach.
   */
  handoff?: MessagePort | 'staged';
  /**
   * The handoff channel made before the pause (precopy): `to` got the old end; the new end is on
   * the host (full transfer) or went with stage. Detach uses it when `to` is still the running worker.
   */
  preparedHandoff?: { to: WorkerTransport; newEnd: MessagePort | 'staged' };
  /** Activation started before the detach answered (see detach); resolves with health()'s time. */
  activation?: Promise<number>;
  /** Client channels already posted to the new worker (transfer): a rollback takes them back. */
  movedPorts: number;
}

class StepError extends Error {
  constructor(readonly step: ReloadStep, readonly error: PlugvisorError) {
    super(error.message);
  }
}

export async function runReload(ctx: ReloadContext, group: ManagedPlugin[]): Promise<ReloadResult[]> {
  const t0 = performance.now();
  const clock = new PhaseClock();
  const slots: Slot[] = group.map((runtime) => ({
    runtime,
    worker: runtime instanceof PluginRuntime ? runtime : undefined,
    fromVersion: runtime.manifest.version,
    detached: false,
    starts: false,
    clientPorts: [],
    tracking: false,
    precopyBytes: 0,
    stateBytes: 0,
    movedPorts: 0,
  }));
  let pausedAt: number | undefined;
  let pauseMs = 0;
  try {
    await clock.time('prepare', () => prepare(ctx, slots));
    const order = activationOrder(ctx, slots);
    if (ctx.validate) await clock.time('validate', () => validate(ctx, slots));
    await clock.time('spawn', async () => {
      await startDependencies(ctx, slots);
      await spawn(slots);
    });
    if (ctx.backupBefore === undefined) await clock.time('precopy', () => precopy(ctx, slots));
    const early = await clock.time('precopy', () => wireFirstActivation(slots, order));
    // Nothing awaited from here to the pause: the first activation's check still holds at its start.
    armFirstActivation(ctx, slots, order, early);
    pausedAt = performance.now();
    for (const slot of slots) {
      slot.starts = startsWithReload(slot) && slot.next !== undefined;
      slot.old = slot.worker?.beginReload();
    }
    startNeededDependencies(order);
    await clock.time('detach', () => detach(ctx, clock, slots, order));
    await clock.time('activate', () => activate(ctx, clock, order));
    await clock.time('transfer', () => transfer(ctx, slots));
    await clock.time('swap', () => swap(ctx, slots));
    pauseMs = performance.now() - pausedAt;
    // A channel made before the pause for a worker that was gone by then (a plugin that started
    // with the reload): no detach took it.
    for (const slot of slots) if (slot.preparedHandoff?.newEnd instanceof MessagePort) slot.preparedHandoff.newEnd.close();
  } catch (err) {
    if (pausedAt !== undefined) pauseMs = performance.now() - pausedAt;
    const failure = asStepError(err);
    await rollback(ctx, slots, pausedAt !== undefined);
    const durationMs = performance.now() - t0;
    const error = Object.assign(failure.error, { step: failure.step });
    ctx.log.warn({ plugins: slots.map((s) => s.runtime.name), step: failure.step, err: failure.error }, 'reload failed; rolled back');
    return slots.map((slot) => ({
      ok: false,
      plugin: slot.runtime.name,
      fromVersion: slot.fromVersion,
      toVersion: slot.build?.manifest.version ?? slot.fromVersion,
      durationMs,
      pauseMs,
      rolledBack: true,
      stateBytes: 0,
      precopyBytes: slot.precopyBytes,
      phases: clock.phases,
      reloaded: [],
      error,
    }));
  }
  await clock.time('dispose', () => disposeOld(ctx, slots));
  if (ctx.afterSwap !== undefined) {
    for (const slot of slots) {
      if (slot.worker !== undefined) await ctx.afterSwap(slot.worker).catch((err: Error) => ctx.log.warn({ plugin: slot.runtime.name, err }, 'after-reload checkpoint failed'));
    }
  }
  const durationMs = performance.now() - t0;
  const reloaded = slots.map((s) => s.runtime.name);
  return slots.map((slot) => ({
    ok: true,
    plugin: slot.runtime.name,
    fromVersion: slot.fromVersion,
    toVersion: slot.build!.manifest.version,
    durationMs,
    pauseMs,
    rolledBack: false,
    stateBytes: slot.stateBytes,
    precopyBytes: slot.precopyBytes,
    phases: clock.phases,
    reloaded,
    ...(slot.backupFile === undefined ? {} : { backupFile: slot.backupFile }),
  }));
}

async function prepare(ctx: ReloadContext, slots: Slot[]): Promise<void> {
  for (const slot of slots) {
    const { runtime } = slot;
    const manifest = await step('manifest', () => ctx.readManifest(runtime.manifest.dir, ctx.validate));
    if (manifest.name !== runtime.name) {
      throw new StepError('manifest', new PlugvisorError('PLUGVISOR_MANIFEST_INVALID',
        `${manifest.manifestFile}: the name changed from "${runtime.name}" to "${manifest.name}"; unload and load the plugin to rename it`,
        { plugin: runtime.name, file: manifest.manifestFile }));
    }
    if ((manifest.pool === undefined) !== (runtime.manifest.pool === undefined)) {
      throw new StepError('manifest', new PlugvisorError('PLUGVISOR_MANIFEST_INVALID',
        `${manifest.manifestFile}: plugvisor.pool was added or removed; unload and load the plugin to change how it runs`,
        { plugin: runtime.name, file: manifest.manifestFile }));
    }
    slot.build = await step('compile', () => ctx.buildPlugin(manifest)).catch((err: StepError) => {
      // The plugin's config file is read with its code: report it as its own step.
      throw err.error.code === 'PLUGVISOR_PLUGIN_CONFIG_INVALID' ? new StepError('config', err.error) : err;
    });
  }
}

/**
 * The slots in the order their new versions are activated: each after the dependencies it will
 * have (a new version may add one within the group). The dependsOn graph after the swap must have
 * no cycle: load order, stop order and reload groups all depend on it. Checked with `force` too.
 */
function activationOrder(ctx: ReloadContext, slots: Slot[]): Slot[] {
  const graph = new Map(ctx.dependsOnGraph());
  for (const slot of slots) graph.set(slot.runtime.name, Object.keys(slot.build!.manifest.dependsOn));
  try {
    const order = topologicalOrder(graph);
    return [...slots].sort((a, b) => order.indexOf(a.runtime.name) - order.indexOf(b.runtime.name));
  } catch (err) {
    const cycle = (err as { cycle?: string[] }).cycle ?? [];
    const slot = slots.find((s) => cycle.includes(s.runtime.name)) ?? slots[0]!;
    const file = slot.build!.manifest.manifestFile;
    throw new StepError('validate', new PlugvisorError('PLUGVISOR_DEPENDENCY_CYCLE',
      `${file}: ${(err as Error).message}; the new version is refused`, { plugin: slot.runtime.name, file, cycle }));
  }
}

/** dependsOn of every new version against the versions that will be loaded after the swap. */
function validate(ctx: ReloadContext, slots: Slot[]): void {
  const next = new Map(slots.map((s) => [s.runtime.name, s.build!.manifest.version]));
  for (const slot of slots) {
    const manifest = slot.build!.manifest;
    for (const [dep, range] of Object.entries(manifest.dependsOn)) {
      const version = next.get(dep) ?? ctx.loadedVersion(dep);
      if (version === undefined || !semver.satisfies(version, range, { includePrerelease: true })) {
        const why = version === undefined ? 'which is not loaded' : `but version ${version} ${next.has(dep) ? 'is being reloaded' : 'is loaded'}`;
        throw new StepError('validate', new PlugvisorError('PLUGVISOR_DEPENDENCY_MISSING',
          `plugin "${manifest.name}" ${manifest.version} needs "${dep}" ${range}, ${why} (${manifest.manifestFile})`,
          { plugin: manifest.name, dependency: dep, file: manifest.manifestFile }));
      }
    }
  }
}

/**
 * A dependency of a new version that has no running worker (lazy, not started yet) starts now,
 * before the pause and with the code it has: wiring the new version would otherwise start it inside
 * the pause. One that is in the group then takes part in the pause like the others. One the
 * reload itself starts (failed, waiting to restart) is activated in the pause, before its dependents.
 */
async function startDependencies(ctx: ReloadContext, slots: Slot[]): Promise<void> {
  const startedByReload = new Set(slots.filter(startsWithReload).map((s) => s.runtime.name));
  for (const slot of slots) {
    if (slot.worker?.transport?.alive !== true && !startsWithReload(slot)) continue;
    for (const dep of Object.keys(slot.build!.manifest.dependsOn)) {
      if (!startedByReload.has(dep)) await step('start', () => ctx.startDependency(dep));
    }
  }
}

/**
 * A lazy member of the group that nobody has started, but that a new version activated in the pause
 * depends on (it may start depending on it, or have started since startDependencies looked), starts
 * in the pause too, with its new code: wiring would ask it to start while the reload owns it, which
 * waits for the reload's end, which waits for the wiring. Dependents first, so that the members
 * such a dependency needs in turn start too.
 */
function startNeededDependencies(order: Slot[]): void {
  const byName = new Map(order.map((s) => [s.runtime.name, s]));
  for (const slot of [...order].reverse()) {
    if (slot.old === undefined && !slot.starts) continue;
    for (const dep of Object.keys(slot.build!.manifest.dependsOn)) {
      const needed = byName.get(dep);
      if (needed?.worker !== undefined && needed.old === undefined && needed.next !== undefined) needed.starts = true;
    }
  }
}

function startsWithReload(slot: Slot): boolean {
  return slot.worker?.startsWithReload(slot.build!) === true;
}

async function spawn(slots: Slot[]): Promise<void> {
  for (const slot of slots) {
    const { runtime, worker } = slot;
    if (worker === undefined) {
      // A pool's new threads start here, not in the pause (undefined for a lazy pool not started yet).
      if (runtime instanceof PoolRuntime) slot.pool = await step('load', () => runtime.prepareBuild(slot.build!));
      continue;
    }
    // A start under way ends first: its worker is then the old one, or the plugin is down.
    await worker.startSettled();
    const next = await step('load', () => worker.spawn(slot.build!));
    slot.next = next;
    const had = runtime.shape;
    if (had?.hasConnect === true && !next.shape.hasConnect) {
      throw new StepError('validate', new PlugvisorError('PLUGVISOR_PLUGIN_INVALID',
        `${slot.build!.manifest.entryFile}: the new version has no connect() hook, but the running one has; open client channels would be cut`,
        { plugin: runtime.name, file: slot.build!.manifest.entryFile }));
    }
  }
}

/** Get each old worker ready for its snapshot while it still serves: what the pause then saves. */
async function precopy(ctx: ReloadContext, slots: Slot[]): Promise<void> {
  for (const slot of slots) {
    const current = slot.worker?.transport;
    if (current === undefined || !current.alive || slot.worker!.status !== 'serving') continue;
    slot.prepared = current;
    // The handoff channel is handed out now, not with detach and activate in the pause: a port in a
    // request costs the receiving thread 0.2-0.5 ms to take in (measured in the old worker, Node 20,
    // 2 vCPUs), and the new worker's could hold the state up as long again.
    const { port1, port2 } = new MessageChannel();
    if (slot.build!.manifest.stateTransfer !== 'delta') {
      // The new end stays on the host until the activation: a rollback can then still read a full
      // snapshot out of it, should the old worker die after handing it over.
      slot.preparedHandoff = { to: current, newEnd: port2 };
      await step('precopy', () => current.control('reserve', { handoff: port1 }, ctx.timeoutMs, [port1]));
      continue;
    }
    slot.tracking = true;
    const state = await step('precopy', () => current.control('precopy', { handoff: port1 }, ctx.timeoutMs, [port1]).catch(notSerializable(slot, 'precopy')));
    slot.precopyBytes = imageSize(state);
    const stage = (handoff?: MessagePort): Promise<null> => slot.next!.control('stage', { state, handoff }, ctx.timeoutMs, [...imageTransferList(state), ...(handoff === undefined ? [] : [handoff])]);
    // An old worker that died since the pre-copy took its end of the channel with it, and the new
    // end then cannot be sent: the state is staged without it, and the detach makes a new channel.
    const staged = await step('precopy', () => stage(port2).then(() => true, (err: Error) => {
      if (err.name !== 'DataCloneError') throw err;
      return stage().then(() => false);
    }));
    if (staged) slot.preparedHandoff = { to: current, newEnd: 'staged' };
  }
}

/** The first plugin to activate in the pause: the first, dependencies first, with a running worker. */
function firstToActivate(order: Slot[]): Slot | undefined {
  return order.find((s) => s.worker?.transport?.alive === true);
}

/**
 * Whether `slot` can be sent its activate request before the pause: its state will come on the
 * handoff channel staged in its new worker (delta transfer), to the worker still running, and its
 * dependencies are all outside the group (one in it is wired to its new worker, known in the pause).
 */
function canActivateEarly(slot: Slot, slots: Slot[]): boolean {
  const prepared = slot.preparedHandoff;
  if (prepared?.newEnd !== 'staged' || prepared.to !== slot.worker?.transport || !prepared.to.alive) return false;
  const inGroup = new Set(slots.map((s) => s.runtime.name));
  return Object.keys(slot.build!.manifest.dependsOn).every((name) => !inGroup.has(name));
}

/**
 * Wait for starts and restarts under way (one would adopt its worker inside the pause), then open
 * the channels of the first activation that can be sent before the pause to its dependencies.
 */
async function wireFirstActivation(slots: Slot[], order: Slot[]): Promise<{ slot: Slot; wired: PeerWiring[] } | undefined> {
  for (;;) {
    while (slots.some((s) => s.worker?.startUnderWay === true)) await Promise.all(slots.map((s) => s.worker?.startSettled()));
    const first = firstToActivate(order);
    if (first === undefined || !canActivateEarly(first, slots)) return undefined;
    const wired = await step('activate', () => first.worker!.wireDependencies(first.build!.manifest.dependsOn));
    if (!slots.some((s) => s.worker?.startUnderWay === true)) return { slot: first, wired };
    for (const wiring of wired) wiring.port.close();
  }
}

/**
 * Send the first activation its request now, when the checks still hold (nothing was awaited
 * since): its new worker then waits on the staged channel for the delta, and the pause no longer
 * carries the request. Interleaved A/B on Node 20, 2 vCPUs, a 1 MB Map, 400 + 400 reloads: pause
 * p50 1.93 -> 1.33 ms and p99 3.7 -> 3.4 ms under a caller of 5,000 calls/s; 1.94 -> 1.69 ms and
 * 4.8 -> 4.0 ms under one that keeps both CPUs busy.
 */
function armFirstActivation(ctx: ReloadContext, slots: Slot[], order: Slot[], early: { slot: Slot; wired: PeerWiring[] } | undefined): void {
  if (early === undefined) return;
  const { slot, wired } = early;
  if (firstToActivate(order) !== slot || !canActivateEarly(slot, slots) || startsWithReload(slot)) {
    for (const wiring of wired) wiring.port.close();
    return;
  }
  slot.handoff = 'staged';
  // Its request's own bound starts now, before the other old workers' detach (each bounded by
  // reload.timeout for its calls in flight and again for its answer), not after them.
  const othersDetachMs = 2 * ctx.timeoutMs * (slots.length - 1);
  const activation = activateSlot(ctx, slot, new Map(), wired, othersDetachMs);
  activation.catch(() => undefined);
  slot.activation = activation;
}

/** A state the old version cannot serialise fails the reload at `at`, with the cause. */
function notSerializable(slot: Slot, at: ReloadStep): (err: Error & { step?: string }) => never {
  return (err) => {
    if (isPlugvisorError(err, 'PLUGVISOR_PLUGIN_CRASHED') || isPlugvisorError(err, 'PLUGVISOR_CALL_TIMEOUT') || (at === 'snapshot' && err.step !== 'snapshot')) throw err;
    throw new StepError(at, new PlugvisorError('PLUGVISOR_STATE_NOT_SERIALIZABLE',
      `plugin "${slot.runtime.name}": its state cannot be serialised with node:v8: ${err.message}`, { plugin: slot.runtime.name, cause: err }));
  };
}

/**
 * Drain, detach and snapshot, in one round trip per old worker, dependents first (their running
 * commands may still call the dependencies' old workers). The detach request follows the calls in
 * flight on the same port, and the worker answers it only after their replies and once its running
 * commands have finished: its answer says the worker is drained too.
 */
async function detach(ctx: ReloadContext, clock: PhaseClock, slots: Slot[], activationOrder: Slot[]): Promise<void> {
  const first = activationOrder.find((s) => s.old !== undefined);
  for (const slot of [...slots].reverse()) {
    if (slot.old === undefined) continue;
    const old = slot.old;
    // Kept on disk (reload --backup-state): plain node:v8, readable without plugvisor, and through
    // the host. Otherwise the old worker posts the state straight to the new one.
    const state = slot.tracking ? 'delta' : ctx.backupBefore !== undefined ? 'portable' : 'image';
    // The channel made before the pause, unless the worker it went to is no longer the one running.
    const prepared = slot.preparedHandoff?.to === old ? slot.preparedHandoff : undefined;
    if (prepared === undefined && slot.preparedHandoff?.newEnd instanceof MessagePort) slot.preparedHandoff.newEnd.close();
    const channel = ctx.backupBefore === undefined && prepared === undefined ? new MessageChannel() : undefined;
    // An activation sent before the pause (armFirstActivation) already took the staged channel.
    if (slot.activation === undefined) slot.handoff = prepared?.newEnd ?? channel?.port2;
    slot.preparedHandoff = undefined;
    slot.detached = true;
    const t0 = performance.now();
    let drainedAt: number | undefined;
    const drained = slot.worker!.drain().then(() => {
      drainedAt = performance.now();
    });
    // At reload.timeout the transaction gives up and the rollback sends resume, which cuts a detach
    // still waiting for commands short; the rollback then still collects the answer, which carries
    // the client channels if the worker got that far. The request's own bound only catches a
    // worker that answers neither.
    const handoff = prepared !== undefined ? 'prepared' : channel?.port1;
    const answer = old.control('detach', { state, handoff }, busyBound(ctx, slot), channel === undefined ? undefined : [channel.port1]);
    slot.pendingDetach = answer;
    // The first plugin to activate (usually the last one detached: dependencies come last) can have
    // its new worker waiting for the state while the old one serialises it, off the host's way.
    if (slot === first && slot.handoff !== undefined && slot.activation === undefined) {
      const activation = activateSlot(ctx, slot, activationTargets(slots));
      activation.catch(() => undefined);
      slot.activation = activation;
    }
    if (!(await settlesWithin(answer.catch(() => undefined), ctx.timeoutMs))) throw detachTimeout(ctx, slot, drainedAt === undefined);
    slot.pendingDetach = undefined;
    const handed = await step('detach', () => answer.catch(notSerializable(slot, 'snapshot')));
    slot.tracking = false;
    slot.clientPorts = handed.ports;
    if (!(await settlesWithin(drained, ctx.timeoutMs))) throw detachTimeout(ctx, slot, true);
    // Split the round trip: waiting for the calls in flight, the worker's serialising, the rest.
    const total = performance.now() - t0;
    const snapshotMs = Math.min(handed.snapshotMs, total);
    clock.shift('detach', 'snapshot', snapshotMs);
    clock.shift('detach', 'drain', Math.min(drainedAt! - t0, total - snapshotMs));
    slot.snapshot = handed.state;
    slot.delta = handed.delta;
    slot.stateBytes = handed.stateBytes;
    if (ctx.backupBefore !== undefined && handed.state !== undefined) {
      slot.backupFile = await step('snapshot', () => ctx.backupBefore!(slot.runtime.name, slot.fromVersion, handed.state!.bytes));
    }
  }
}

/** How long an old worker may stay busy (serialising, finishing a command) before it counts as hung. */
function busyBound(ctx: ReloadContext, slot: Slot): number {
  return Math.max(2 * ctx.timeoutMs, slot.runtime.manifest.limits.callTimeoutMs);
}

function detachTimeout(ctx: ReloadContext, slot: Slot, callsInFlight: boolean): StepError {
  const name = slot.runtime.name;
  return callsInFlight
    ? new StepError('drain', new PlugvisorError('PLUGVISOR_RELOAD_TIMEOUT',
      `plugin "${name}": calls in flight did not finish within ${ctx.timeoutMs} ms (reload.timeout)`, { plugin: name }))
    : new StepError('detach', new PlugvisorError('PLUGVISOR_RELOAD_TIMEOUT',
      `plugin "${name}": finishing its running commands and serialising its state took more than ${ctx.timeoutMs} ms (reload.timeout)`, { plugin: name }));
}

/** Activate and health, in one round trip per new worker, dependencies first. */
async function activate(ctx: ReloadContext, clock: PhaseClock, slots: Slot[]): Promise<void> {
  const targets = activationTargets(slots);
  for (const slot of slots) {
    if (slot.old === undefined && !slot.starts) continue;
    const t0 = performance.now();
    const activation = slot.activation ?? activateSlot(ctx, slot, targets);
    // Timed from here, where every old worker has handed its state over: the activation's own
    // bound also covers waiting for the old worker, which may take far longer.
    if (!(await settlesWithin(activation.catch(() => undefined), ctx.startTimeoutMs + ctx.timeoutMs))) {
      const name = slot.runtime.name;
      throw new StepError('activate', new PlugvisorError('PLUGVISOR_RELOAD_TIMEOUT',
        `plugin "${name}" ${slot.build!.manifest.version}: restoring its state, migrate(), setup() and health() did not finish within ${ctx.startTimeoutMs + ctx.timeoutMs} ms`, { plugin: name }));
    }
    const healthMs = await activation;
    // An activation started during detach overlaps it: only what it took after counts here.
    clock.shift('activate', 'health', Math.min(healthMs, performance.now() - t0));
  }
}

/** The new workers of the transaction: dependencies are wired to these. */
function activationTargets(slots: Slot[]): Map<string, WorkerTransport> {
  return new Map(slots.filter((s) => s.old !== undefined || s.starts).map((s) => [s.runtime.name, s.next!]));
}

/** Resolves with the time health() took (0 without it). */
async function activateSlot(ctx: ReloadContext, slot: Slot, targets: Map<string, WorkerTransport>, wired?: PeerWiring[], waitsLongerMs = 0): Promise<number> {
  // Moved to the new worker: from here on the rollback cannot take the state back out of it.
  const handoff = slot.handoff;
  slot.handoff = undefined;
  // A plugin the reload starts begins where a start would: a saved state, or state().
  const saved = slot.starts ? await step('restore', () => slot.worker!.stateForStart()) : undefined;
  slot.startSource = slot.starts ? saved?.source ?? 'fresh' : undefined;
  const from = slot.starts ? { state: saved?.state, fromVersion: saved?.fromVersion } : { state: slot.snapshot, fromVersion: slot.fromVersion };
  const { health, healthMs } = await step('activate', () => slot.worker!.activate(slot.next!, {
    ...from, delta: slot.delta, handoff, handoffWithinMs: busyBound(ctx, slot) + waitsLongerMs, targets,
    // health() gates the commit even when validation is skipped: force never skips the rollback.
    dependsOn: slot.build!.manifest.dependsOn, healthWithinMs: ctx.timeoutMs, wired,
  })).catch((err: StepError) => {
    // A saved state that does not restore must not keep the plugin down: as at any start, it is
    // dropped, and the next attempt starts from state().
    if (saved?.discard !== undefined && (err.step === 'restore' || err.step === 'migrate')) saved.discard(err.error);
    throw err;
  });
  if (health !== undefined && health.ok !== true) {
    throw new StepError('health', new PlugvisorError('PLUGVISOR_HEALTH_FAILED',
      `plugin "${slot.runtime.name}" ${slot.build!.manifest.version}: health() reported ${JSON.stringify(health)}`, { plugin: slot.runtime.name, report: health }));
  }
  return healthMs ?? 0;
}

async function transfer(ctx: ReloadContext, slots: Slot[]): Promise<void> {
  for (const slot of slots) {
    const ports = slot.clientPorts;
    while (ports.length > 0) {
      // The port moves to the new worker as the request is posted: from then on only that worker
      // can hand it back (at a rollback, even when its connect() threw).
      const port = ports.shift()!;
      const connected = slot.next!.control('connect', { port, resumed: true }, ctx.timeoutMs, [port]);
      slot.movedPorts++;
      await step('transfer', () => connected);
    }
  }
}

async function swap(ctx: ReloadContext, slots: Slot[]): Promise<void> {
  // First what can fail: a lazy pool not started yet takes the new code for its first call, which
  // may be waiting and start it now. Only then the commits, which cannot (a pool's fails only if
  // the host stops meanwhile): a start that fails after a commit would roll back a group whose new
  // worker or pool already serves (the rollback ends it, and the route then points at a dead worker).
  const lazy = slots.filter((s) => s.old === undefined && s.pool === undefined && !s.starts);
  const [workers, pools] = [lazy.filter((s) => s.worker !== undefined), lazy.filter((s) => s.worker === undefined)];
  for (const slot of pools) await step('start', () => slot.runtime.replaceBuild(slot.build!));
  for (const slot of slots) {
    const pool = slot.pool;
    if (pool !== undefined) {
      slot.pool = undefined;
      await step('start', () => pool.commit());
    } else if (slot.old !== undefined || slot.starts) {
      slot.worker!.commitReload(slot.next!, slot.build!, slot.startSource);
    }
  }
  // A lazy plugin not started yet takes the new code for its first call. One that came during the
  // pause starts it now, after the commits: wired to its dependencies' new workers (before them,
  // to the old ones, which end with the reload). All take their new code before any starts: a
  // start asks a lazy dependency in the group to start, which waits until the reload lets it go.
  // Its start failing fails its calls, as any first start does, not the reload (already committed).
  await Promise.all(workers.map(async (slot) => {
    await slot.next?.terminate();
    slot.next = undefined;
  }));
  await Promise.all(workers.map((slot) => slot.worker!.replaceBuild(slot.build!).catch((err: Error) =>
    ctx.log.warn({ plugin: slot.runtime.name, err }, 'the new version of a lazy plugin could not start for its first call'))));
}

async function disposeOld(ctx: ReloadContext, slots: Slot[]): Promise<void> {
  await Promise.all(slots.map(async (slot) => {
    const old = slot.old;
    if (old === undefined) return;
    await old.control('dispose', null, ctx.timeoutMs).catch((err: Error) =>
      ctx.log.warn({ plugin: slot.runtime.name, err }, 'dispose() of the old version failed'));
    await old.terminate();
  }));
}

async function rollback(ctx: ReloadContext, slots: Slot[], paused: boolean): Promise<void> {
  await Promise.all(slots.map(async (slot) => {
    const pool = slot.pool;
    slot.pool = undefined;
    await pool?.discard().catch((err: Error) => ctx.log.warn({ plugin: slot.runtime.name, err }, 'closing the new pool of a failed reload failed'));
  }));
  // Client channels already moved to a new worker come back from it, in their order, before it ends.
  await Promise.all(slots.map(async (slot) => {
    if (slot.movedPorts === 0 || slot.next === undefined || !slot.next.alive) return;
    const back = await slot.next.control('detach', { state: 'none' }, ctx.timeoutMs).catch((err: Error) => {
      ctx.log.error({ plugin: slot.runtime.name, err }, 'the new version could not hand its client channels back');
      return undefined;
    });
    slot.clientPorts.unshift(...(back?.ports ?? []));
  }));
  // A state handed over on the channel staged in a new worker that no activation took: the old
  // worker may have sent it whole (a state delta transfer cannot track), and the rollback keeps it,
  // as it does one left on the host, for a restart should the old worker have died.
  await Promise.all(slots.map(async (slot) => {
    if (slot.handoff !== 'staged' || !slot.detached || slot.snapshot !== undefined || slot.next?.alive !== true) return;
    const handed = await slot.next.control('unstage', null, ctx.timeoutMs).catch(() => undefined);
    slot.snapshot = handed?.state;
  }));
  await Promise.all(slots.map((slot) => slot.next?.terminate()));
  for (const slot of slots) {
    // A state the old worker handed over but no new worker took: kept for a restart, should the old
    // worker have died (a full snapshot only; a delta means nothing without its pre-copy).
    const handoff = slot.handoff ?? slot.preparedHandoff?.newEnd;
    if (handoff instanceof MessagePort) {
      slot.snapshot ??= (receiveMessageOnPort(handoff)?.message as HandedState | undefined)?.state;
      handoff.close();
    }
    slot.handoff = undefined;
    slot.preparedHandoff = undefined;
    // Before the pause there is no `old`, but the precopy may have reached the running worker.
    const old = slot.old ?? slot.prepared;
    if (old !== undefined && old.alive) {
      try {
        // Reached by the precopy step (reserved buffers, tracking) or detached: it must resume.
        if (slot.detached || slot.prepared !== undefined) {
          // A worker still serialising a large state answers the detach, then the resume: it is
          // busy, not hung, and killing it would lose its state.
          const resumed = old.control('resume', null, busyBound(ctx, slot));
          // A detach answered after the transaction gave up on it carries the client channels.
          const late = await slot.pendingDetach?.catch(() => undefined);
          if (late !== undefined) slot.clientPorts.push(...late.ports);
          await resumed;
        }
        // Bounded like the resume: a worker that just serialised a large state may still be busy
        // collecting it, and killing it would lose the state the rollback keeps.
        for (const port of slot.clientPorts.splice(0)) await old.control('connect', { port, resumed: true }, busyBound(ctx, slot), [port]);
      } catch (err) {
        ctx.log.error({ plugin: slot.runtime.name, err }, 'the old version could not resume after a failed reload');
        // Before the pause the worker never stopped serving: its liveness stays the runtime's to judge.
        if (slot.old !== undefined) old.kill('unresponsive');
      }
    }
    if (paused) slot.worker?.abortReload(slot.snapshot);
  }
}

/** Run a step; errors become a StepError carrying the step and a PLUGVISOR_* code. */
async function step<T>(name: ReloadStep, run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof StepError) throw err;
    const e = err as Error & { step?: ReloadStep };
    // Activation reports its own step (state, restore, migrate, setup, health); so does a new
    // pool's start, which runs state() and setup() in its first thread.
    const at: ReloadStep = (name === 'activate' || name === 'load') && isHookStep(e.step) ? e.step : name;
    if (isPlugvisorError(e)) throw new StepError(at, e);
    throw new StepError(at, new PlugvisorError('PLUGVISOR_RELOAD_FAILED', e.message, { cause: e }));
  }
}

const HOOK_STEPS: ReadonlySet<string> = new Set<ReloadStep>(['state', 'restore', 'migrate', 'setup', 'health']);

function isHookStep(step: unknown): step is ReloadStep {
  return typeof step === 'string' && HOOK_STEPS.has(step);
}

function asStepError(err: unknown): StepError {
  if (err instanceof StepError) return err;
  return new StepError('start', new PlugvisorError('PLUGVISOR_RELOAD_FAILED', (err as Error)?.message ?? String(err), { cause: err }));
}
