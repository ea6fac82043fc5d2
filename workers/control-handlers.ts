/**
 * The management operations a plugin worker answers (see ControlOps in the protocol): activation
 * with a fresh or restored state, health, state snapshots, channels, dispose.
 */
import type { MessagePort } from 'node:worker_threads';
import { deserialize, getHeapStatistics, serialize } from 'node:v8';
import type { ControlOp, ControlOps, HealthReport, PeerWiring } from '../src/protocol/messages.js';
import type { PluginContext, PluginDefinition, PluginProxies } from '../src/protocol/plugin-definition.js';
import { createPluginProxy, PeerClient } from './peer-client.js';
import type { RpcServer } from './rpc-server.js';
import type { ServedPorts } from './served-ports.js';
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
}

/** A response whose value carries ports or buffers to transfer rather than copy. */
export class Transfer<T = unknown> {
  constructor(readonly value: T, readonly list: Array<MessagePort | ArrayBuffer>) {}
}

function transferable(bytes: Uint8Array): ArrayBuffer[] {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole ? [bytes.buffer as ArrayBuffer] : [];
}

function ownedBuffer(bytes: Uint8Array): Transfer<Uint8Array> {
  return new Transfer(bytes, transferable(bytes));
}

/** Tags an error with the activation step that threw, so the host can report it. */
function atStep<T>(step: string, run: () => T | Promise<T>): Promise<T> {
  return Promise.resolve().then(run).catch((err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    Object.assign(e, { step });
    throw e;
  });
}

export function createControlHandlers(w: WorkerPluginState): Handlers {
  const peers = new Map<string, PeerClient>();
  const wirePeer = (wiring: PeerWiring): void => {
    const existing = peers.get(wiring.name);
    if (existing !== undefined) {
      existing.wire(wiring);
      return;
    }
    const client = new PeerClient(wiring);
    peers.set(wiring.name, client);
    w.ctx.plugins[wiring.name] = createPluginProxy(client);
  };
  const { definition: def, ctx } = w;
  /** Client channels opened with sup.connect(), handed to the next version on a reload. */
  const clientPorts = new Set<MessagePort>();
  /** The pre-copied state of the old version, waiting for its delta. */
  let staged: unknown;

  return {
    async activate({ state, delta, fromVersion, peers: wirings }) {
      for (const wiring of wirings) wirePeer(wiring);
      if (state !== undefined || delta !== undefined) {
        const old = await atStep('restore', () => (delta !== undefined ? applyDelta(staged, delta) : deserialize(state!)));
        staged = undefined;
        ctx.state = def.migrate === undefined ? old
          : await atStep('migrate', () => def.migrate!(old, { fromVersion: fromVersion ?? 'unknown' }));
      } else {
        ctx.state = def.state === undefined ? {} : await atStep('state', () => def.state!());
      }
      await atStep('setup', () => def.setup?.(ctx));
      return { restoredState: state !== undefined || delta !== undefined };
    },
    ping: () => null,
    heap() {
      const h = getHeapStatistics();
      return { heapUsedBytes: h.used_heap_size, heapTotalBytes: h.total_heap_size, heapLimitBytes: h.heap_size_limit, externalBytes: h.external_memory };
    },
    async health() {
      if (def.health === undefined) return { ok: true };
      const report = (await def.health(ctx)) as HealthReport | undefined;
      if (report === null || typeof report !== 'object' || typeof report.ok !== 'boolean') {
        return { ok: false, reason: 'health() must return an object with a boolean "ok"' };
      }
      return report;
    },
    snapshot: () => ownedBuffer(serialize(w.tracker.raw)),
    precopy: () => ownedBuffer(w.tracker.precopy()),
    stage({ state }) {
      staged = deserialize(state);
      return null;
    },
    delta() {
      const delta = w.tracker.takeDelta();
      return delta !== undefined ? new Transfer({ delta }, transferable(delta)) : new Transfer({ full: serialize(w.tracker.raw) }, []);
    },
    async detach() {
      // Nothing may change the state once the snapshot is taken: hold the dependents' channels,
      // let running commands finish, and hand the client channels (with whatever is queued in
      // them) back to the host for the next version.
      w.served.hold();
      await w.server.idle();
      const ports = [...clientPorts];
      clientPorts.clear();
      for (const port of ports) port.removeAllListeners();
      return new Transfer({ ports }, ports);
    },
    resume() {
      w.tracker.stop();
      w.served.resume();
      return null;
    },
    async dispose() {
      await def.dispose?.(ctx);
      for (const client of peers.values()) client.close();
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
