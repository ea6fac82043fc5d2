/**
 * The management operations a plugin worker answers (see ControlOps in the protocol): activation
 * with a fresh or restored state, health, state snapshots, channels, dispose.
 */
import type { MessagePort } from 'node:worker_threads';
import { deserialize, serialize } from 'node:v8';
import type { ControlOp, ControlOps, HealthReport, PeerWiring } from '../src/protocol/messages.js';
import type { PluginContext, PluginDefinition, PluginProxies } from '../src/protocol/plugin-definition.js';
import { createPluginProxy, PeerClient } from './peer-client.js';
import type { RpcServer } from './rpc-server.js';

type Handlers = { [K in ControlOp]: (p: ControlOps[K]['req']) => Promise<ControlOps[K]['res']> | ControlOps[K]['res'] };

export interface WorkerPluginState {
  definition: PluginDefinition;
  ctx: PluginContext & { plugins: PluginProxies };
  server: RpcServer;
  /** Serve the calls arriving on a port (a dependent's channel). */
  serve(port: MessagePort): void;
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

  return {
    async activate({ state, fromVersion, peers: wirings }) {
      for (const wiring of wirings) wirePeer(wiring);
      if (state !== undefined) {
        const old = await atStep('restore', () => deserialize(state));
        ctx.state = def.migrate === undefined ? old
          : await atStep('migrate', () => def.migrate!(old, { fromVersion: fromVersion ?? 'unknown' }));
      } else {
        ctx.state = def.state === undefined ? {} : await atStep('state', () => def.state!());
      }
      await atStep('setup', () => def.setup?.(ctx));
      return { restoredState: state !== undefined };
    },
    ping: () => null,
    async health() {
      if (def.health === undefined) return { ok: true };
      const report = (await def.health(ctx)) as HealthReport | undefined;
      if (report === null || typeof report !== 'object' || typeof report.ok !== 'boolean') {
        return { ok: false, reason: 'health() must return an object with a boolean "ok"' };
      }
      return report;
    },
    snapshot: () => serialize(ctx.state),
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
      w.serve(port);
      return null;
    },
    async connect({ port, resumed }) {
      if (def.connect === undefined) {
        port.close();
        throw Object.assign(new Error(`plugin "${ctx.name}" has no connect() hook`), { code: 'PLUGVISOR_COMMAND_NOT_FOUND' });
      }
      await def.connect(ctx, port, { resumed });
      return null;
    },
  };
}
