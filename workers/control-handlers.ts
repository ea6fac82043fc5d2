/**
 * The management operations a plugin worker answers (see ControlOps in the protocol): activation
 * with a fresh or restored state, health, state snapshots, channels, dispose.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import type { ControlOp, ControlOps, HandedState, HealthReport, PeerWiring } from '../src/protocol/messages.js';
import { imageSize, imageTransferList } from '../src/protocol/state-image.js';
import { withStep } from '../src/protocol/wire-error.js';
import type { PluginContext, PluginDefinition, PluginProxies } from '../src/protocol/plugin-definition.js';
import { createPluginProxy, PeerClient } from './peer-client.js';
import type { Outbox } from '../src/protocol/outbox.js';
import type { Reply, RpcServer } from './rpc-server.js';
import type { ServedPorts } from './served-ports.js';
import { settleHeap } from './settle-heap.js';
import { topLevelViewSizes, type BufferReserve } from './buffer-reserve.js';
import { decodeState, encodeState } from './state-codec.js';
import { applyDelta, type StateTracker } from './state-tracker.js';

type Result<T> = T | Transfer<T>;
type Handlers = { [K in ControlOp]: (p: ControlOps[K]['req']) => Promise<Result<ControlOps[K]['res']>> | Result<ControlOps[K]['res']> };

export interface WorkerPluginState {
  definition: PluginDefinition;
  /** Owns ctx.state (delta tracking during a reload). */
  tracker: StateTracker;
  ctx: PluginContext & { plugins: PluginProxies };
  server: RpcServer;
  /** The dependents' channels this worker serves. */
  served: ServedPorts;
  /** Buffers the next detach's snapshot copies large typed arrays into (see buffer-reserve.ts). */
  reserve: BufferReserve;
  /** Where the replies to the host's calls go. */
  hostReplies: Outbox<Reply>;
}

/** A response whose value carries ports or buffers to transfer rather than copy. */
export class Transfer<T = unknown> {
  constructor(readonly value: T, readonly list: Array<MessagePort | ArrayBuffer>) {}
}

/** Tags an error with the step that threw (restore, migrate, setup, health…), so the host can report it. */
function atStep<T>(step: string, run: () => T | Promise<T>): Promise<T> {
  return Promise.resolve().then(run).catch((err: unknown) => {
    throw withStep(err, step);
  });
}

/** The same, for a step that must run within the current tick. */
function atStepNow<T>(step: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw withStep(err, step);
  }
}

/** What the old worker posts on the handoff port; the port closing first means it never will. */
function receiveHandoff(port: MessagePort): Promise<HandedState> {
  return new Promise((resolve, reject) => {
    port.once('message', (handed: HandedState) => {
      port.close();
      resolve(handed);
    });
    port.once('close', () => reject(new Error('the old version closed the state handoff without sending its state')));
  });
}

/**
 * Run detach and resume once, at load, with nothing to hand over and no channel served yet. An old
 * worker runs its detach once in its life, inside a reload's pause, where compiling it on that
 * first call cost 0.2-0.4 ms (Node 20, measured between the request's arrival and the handler's
 * first statement).
 */
export async function warmDetach(handlers: Handlers): Promise<void> {
  await handlers.detach({ state: 'none' });
  await handlers.resume(null);
}

const STDIO_FLUSH_MS = 2_000;

/**
 * Wait until what the plugin wrote to stdout and stderr has been handed to the host: a worker's
 * stdio is a stream into the host's, and the writes still queued in it when the worker is ended
 * (right after dispose) would be lost. A write's callback runs once every earlier write went.
 */
function flushStdio(): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A stream that errored never calls back: the worker ends anyway.
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, STDIO_FLUSH_MS)));
  const flushed = Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => {
    stream.write('', () => resolve());
  })));
  return Promise.race([flushed.then(() => undefined), bound]).finally(() => clearTimeout(timer));
}

export function createControlHandlers(w: WorkerPluginState, onPeerTimeout: (name: string) => void): Handlers {
  const peers = new Map<string, PeerClient>();
  const wirePeer = (wiring: PeerWiring): void => {
    const existing = peers.get(wiring.name);
    if (existing !== undefined) {
      existing.wire(wiring);
      return;
    }
    const client = new PeerClient(wiring, onPeerTimeout);
    peers.set(wiring.name, client);
    w.ctx.plugins[wiring.name] = createPluginProxy(client);
  };
  const { definition: def, ctx } = w;
  /** Client channels opened with sup.connect(), handed to the next version on a reload. */
  const clientPorts = new Set<MessagePort>();
  /** The pre-copied state of the old version, waiting for its delta. */
  let staged: unknown;
  /**
   * The reload's handoff channel, given before the pause: a port that travels in a request costs
   * the receiving thread 0.2-0.5 ms to take in (Node 20, 2 vCPUs), and inside the pause it did so
   * twice. Old worker: where detach posts the state. New worker: where activate awaits it.
   */
  let handoffOut: MessagePort | undefined;
  let handoffIn: MessagePort | undefined;
  const keepHandoffOut = (port: MessagePort | undefined): void => {
    handoffOut?.close();
    handoffOut = port;
  };
  /** Set while a detach waits for running commands: resume (the host gave up) cuts the wait short. */
  let cancelDetach: (() => void) | undefined;

  const checkHealth = async (): Promise<HealthReport> => {
    if (def.health === undefined) return { ok: true };
    const report = (await def.health(ctx)) as HealthReport | undefined;
    if (report === null || typeof report !== 'object' || typeof report.ok !== 'boolean') {
      return { ok: false, reason: 'health() must return an object with a boolean "ok"' };
    }
    // The report goes to the host in a response: one it cannot clone would kill this worker there.
    try {
      structuredClone(report);
    } catch (err) {
      return { ok: false, reason: `health() returned a report that cannot be cloned: ${(err as Error).message}` };
    }
    return report;
  };
  /** What detach hands over with the channels. */
  const handOver = (mode: ControlOps['detach']['req']['state']): HandedState => {
    if (mode === 'none') return {};
    if (mode === 'delta') {
      const delta = w.tracker.takeDelta(w.reserve);
      if (delta !== undefined) return { delta };
    }
    return { state: encodeState(w.tracker.raw, mode === 'portable', w.reserve) };
  };

  return {
    async activate({ state: given, delta: givenDelta, handoff, fromVersion, peers: wirings, health }) {
      for (const wiring of wirings) wirePeer(wiring);
      const port = handoff === 'staged' ? handoffIn : handoff;
      if (port !== handoffIn) handoffIn?.close();
      handoffIn = undefined;
      if (handoff === 'staged' && port === undefined) throw new Error('activate: no handoff port was staged');
      const { state, delta } = port === undefined ? { state: given, delta: givenDelta } : await atStep('restore', () => receiveHandoff(port));
      // Let go of the pre-copy whatever arrives: a version that starts from state() (its old worker
      // died after the pre-copy) would otherwise keep a whole copy of the old state for its life.
      const precopied = staged;
      staged = undefined;
      if (state !== undefined || delta !== undefined) {
        const old = await atStep('restore', () => (delta !== undefined ? applyDelta(precopied, delta) : decodeState(state!)));
        ctx.state = def.migrate === undefined ? old
          : await atStep('migrate', async () => {
            const migrated = await def.migrate!(old, { fromVersion: fromVersion ?? 'unknown' });
            // A migrate() that changes the old state in place and forgets to return it would start
            // the new version with no state at all.
            if (migrated === undefined) throw new Error('migrate() returned undefined: return the state the new version starts from (the old one, changed or not)');
            return migrated;
          });
      } else {
        ctx.state = def.state === undefined ? {} : await atStep('state', () => def.state!());
      }
      await atStep('setup', () => def.setup?.(ctx));
      const restoredState = state !== undefined || delta !== undefined;
      if (health !== true) return { restoredState };
      const t0 = performance.now();
      const report = await atStep('health', checkHealth);
      return { restoredState, health: report, healthMs: performance.now() - t0 };
    },
    ping: () => null,
    unanswered: () => w.server.unanswered(w.hostReplies),
    heap() {
      const h = getHeapStatistics();
      return { heapUsedBytes: h.used_heap_size, heapTotalBytes: h.total_heap_size, heapLimitBytes: h.heap_size_limit, externalBytes: h.external_memory };
    },
    health: checkHealth,
    snapshot() {
      const image = encodeState(w.tracker.raw, true);
      return new Transfer(image.bytes, imageTransferList(image));
    },
    precopy({ handoff }) {
      keepHandoffOut(handoff);
      const image = w.tracker.precopy(w.reserve);
      return new Transfer(image, imageTransferList(image));
    },
    reserve({ handoff }) {
      keepHandoffOut(handoff);
      w.reserve.fill(topLevelViewSizes(w.tracker.raw));
      return null;
    },
    async stage({ state, handoff }) {
      handoffIn?.close();
      handoffIn = handoff;
      staged = decodeState(state);
      await settleHeap();
      return null;
    },
    unstage() {
      const handed = handoffIn === undefined ? undefined : receiveMessageOnPort(handoffIn)?.message as HandedState | undefined;
      handoffIn?.close();
      handoffIn = undefined;
      staged = undefined;
      const state = handed?.state;
      return state === undefined ? {} : new Transfer({ state }, imageTransferList(state));
    },
    async detach({ state: mode, handoff: given }) {
      const handoff = given === 'prepared' ? handoffOut : given;
      if (given !== 'prepared') handoffOut?.close();
      handoffOut = undefined;
      // Nothing may change the state once it is serialised: hold the dependents' channels, let
      // running commands finish, serialise, and hand the client channels (with whatever is queued
      // in them) back to the host for the next version. All of it after idle() runs in one tick,
      // and the state is serialised and sent first: if it cannot be, the channels are still in
      // place for the rollback.
      try {
        if (given === 'prepared' && handoff === undefined) throw new Error('detach: no handoff port was prepared');
        w.served.hold();
        const cancelled = new Promise<true>((resolve) => (cancelDetach = () => resolve(true)));
        const gaveUp = await Promise.race([w.server.idle(), cancelled]);
        cancelDetach = undefined;
        // The host gave up waiting (reload.timeout) and rolled back: leave everything as it is.
        if (gaveUp === true) throw new Error('detach cancelled: the reload rolled back');
        const t0 = performance.now();
        const handed = atStepNow('snapshot', () => handOver(mode));
        const snapshotMs = performance.now() - t0;
        const images = [handed.state, handed.delta].filter((i) => i !== undefined);
        const transfer = images.flatMap(imageTransferList);
        const stateBytes = images.reduce((sum, image) => sum + imageSize(image), 0);
        // Straight to the new worker, which is already waiting: no stop on the host's thread. The
        // new worker closes the port once it has the state (closing it here could beat the message).
        handoff?.postMessage(handed, transfer);
        const ports = [...clientPorts];
        clientPorts.clear();
        for (const port of ports) port.removeAllListeners();
        if (handoff !== undefined) return new Transfer({ ports, snapshotMs, stateBytes }, ports);
        return new Transfer({ ports, ...handed, snapshotMs, stateBytes }, [...ports, ...transfer]);
      } catch (err) {
        handoff?.close();
        throw err;
      } finally {
        w.reserve.clear();
      }
    },
    resume() {
      keepHandoffOut(undefined);
      cancelDetach?.();
      w.reserve.clear();
      w.tracker.stop();
      w.served.resume();
      return null;
    },
    async dispose() {
      try {
        await def.dispose?.(ctx);
      } finally {
        for (const client of peers.values()) client.close();
        await flushStdio();
      }
      return null;
    },
    rewirePeer(wiring) {
      wirePeer(wiring);
      return null;
    },
    servePeer({ port }) {
      w.served.serve(port);
      return null;
    },
    async configure({ config }) {
      await def.configChanged?.(ctx, config);
      (ctx as { config: unknown }).config = config;
      return null;
    },
    async connect({ port, resumed }) {
      if (def.connect === undefined) {
        port.close();
        throw Object.assign(new Error(`plugin "${ctx.name}" has no connect() hook`), { code: 'PLUGVISOR_COMMAND_NOT_FOUND' });
      }
      clientPorts.add(port);
      await def.connect(ctx, port, { resumed });
      return null;
    },
  };
}
