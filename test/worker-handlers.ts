/** A worker's control handlers outside a worker thread, for unit tests of the reload's worker side. */
import type { PluginContext, PluginDefinition, PluginProxies } from '../src/protocol/plugin-definition.js';
import { BufferReserve } from '../workers/buffer-reserve.js';
import { createControlHandlers } from '../workers/control-handlers.js';
import { RpcServer } from '../workers/rpc-server.js';
import { ServedPorts } from '../workers/served-ports.js';
import { StateTracker } from '../workers/state-tracker.js';

export interface WorkerUnderTest {
  handlers: ReturnType<typeof createControlHandlers>;
  reserve: BufferReserve;
  ctx: PluginContext & { plugins: PluginProxies };
}

export function handlersFor(state: unknown): WorkerUnderTest {
  const definition: PluginDefinition = { commands: {} };
  const ctx = { name: 'p', version: '1.0.0', state: undefined, config: {}, log: undefined, plugins: {} } as unknown as PluginContext & { plugins: PluginProxies };
  const tracker = new StateTracker();
  tracker.install(ctx);
  (ctx as { state: unknown }).state = state;
  const server = new RpcServer(definition, ctx, 1);
  const reserve = new BufferReserve();
  const hostReplies = server.createOutbox({ postMessage: () => undefined } as never);
  const handlers = createControlHandlers({ definition, tracker, ctx, server, served: new ServedPorts(server), reserve, hostReplies }, () => undefined);
  return { handlers, reserve, ctx };
}
