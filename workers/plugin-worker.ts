/**
 * The one generic plugin worker. The host starts it with PluginWorkerData; it imports the compiled
 * plugin, reports the plugin's shape, then serves calls and management requests on parentPort and
 * calls from dependents on their direct ports.
 *
 *   host ──call/batch──▶ parentPort ──▶ RpcServer ──▶ commands[c](ctx, ...a)
 *   host ◀─ok/err/batch─ parentPort ◀── Outbox (one message per tick)
 *   host ──req(op)─────▶ control handlers ──res──▶ host
 *   dependent ──call──▶ served port ──▶ RpcServer (held during a reload)
 */
import * as nodeModule from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { PROTOCOL_VERSION, type AssignMessage, type CallOrBatch, type ControlRequest, type LoadedMessage, type LoggerUsedMessage, type PeerTimeoutMessage, type PluginWorkerData, type SpareWorkerData } from '../src/protocol/messages.js';
import { toWireError } from '../src/protocol/wire-error.js';
import type { PluginContext, PluginProxies } from '../src/protocol/plugin-definition.js';
import { BufferReserve } from './buffer-reserve.js';
import { createControlHandlers, Transfer, warmDetach } from './control-handlers.js';
import { lazyLogger } from './lazy-logger.js';
import { loadPlugin, shapeOf } from './load-plugin.js';
import { RpcServer } from './rpc-server.js';
import { dispatch, ServedPorts } from './served-ports.js';
import { warmStateCodec } from './state-codec.js';
import { StateTracker, warmStateTracker } from './state-tracker.js';

const boot = workerData as PluginWorkerData | SpareWorkerData;
if (parentPort === null || boot?.protocol !== PROTOCOL_VERSION) {
  throw new Error(`plugvisor plugin worker: started without the host's workerData (protocol ${PROTOCOL_VERSION} expected)`);
}
const host = parentPort;
// Stack traces of TypeScript plugins point at their .ts lines.
process.setSourceMapsEnabled(true);

/** A spare's plugin: the host's first message says which. */
function assignment(): Promise<PluginWorkerData> {
  return new Promise((resolve) => {
    host.once('message', ({ data }: AssignMessage) => resolve(data));
  });
}

async function main(data: PluginWorkerData): Promise<void> {
  // V8's own code cache for the plugin's compiled module, where this Node has it (22.1+; not 20).
  const { enableCompileCache } = nodeModule as { enableCompileCache?: (dir?: string) => unknown };
  if (typeof enableCompileCache === 'function' && data.v8CacheDir !== undefined) enableCompileCache(data.v8CacheDir);
  let definition;
  try {
    definition = await loadPlugin(data.moduleUrl, data.entryFile);
  } catch (err) {
    host.postMessage({ t: 'load-failed', e: toWireError(err) } satisfies LoadedMessage);
    return;
  }
  // Created now when the plugin's previous worker used it (the host knows already); else on first use, telling the host.
  const preload = data.preloadLogger === true;
  const log = lazyLogger({ name: data.plugin, level: data.logLevel }, { generation: data.generation }, () => {
    if (!preload) host.postMessage({ t: 'logger' } satisfies LoggerUsedMessage);
  });
  if (preload) log();
  const ctx: PluginContext & { plugins: PluginProxies } = {
    name: data.plugin,
    version: data.version,
    state: undefined,
    config: data.config,
    get log() {
      return log();
    },
    plugins: {},
  };
  const tracker = new StateTracker();
  tracker.install(ctx);
  const server = new RpcServer(definition, ctx, data.generation);
  const served = new ServedPorts(server);
  const outbox = server.createOutbox(host as never);
  const handlers = createControlHandlers({ definition, tracker, ctx, server, served, reserve: new BufferReserve(), hostReplies: outbox },
    (name) => host.postMessage({ t: 'peer-timeout', name } satisfies PeerTimeoutMessage));
  // Paid now rather than in a reload's pause: the first runs of the codec, the delta tracker and the
  // detach handler, and Node's lazily loaded performance global (about 1.5 ms on first use; the
  // pause handlers time their own steps). Best effort: a warm-up that failed would cost speed only.
  try {
    if (!('spare' in boot)) warmUp();
    await warmDetach(handlers);
  } catch { /* the same code runs, cold, in the reload that needs it */ }

  host.on('message', (msg: CallOrBatch | ControlRequest) => {
    if (msg.t !== 'req') {
      dispatch(server, msg, outbox);
      return;
    }
    Promise.resolve()
      .then(() => (handlers[msg.op] as (p: unknown) => unknown)(msg.p))
      .then(
        (v) => {
          const [value, transfer] = v instanceof Transfer ? [v.value, v.list] : [v, undefined];
          host.postMessage({ t: 'res', id: msg.id, ok: true, v: value }, transfer);
        },
        (err: unknown) => host.postMessage({ t: 'res', id: msg.id, ok: false, e: toWireError(err) }),
      );
  });
  host.postMessage({ t: 'loaded', shape: shapeOf(definition) } satisfies LoadedMessage);
}

/** What does not depend on the plugin; a spare runs it before it has one. */
function warmUp(): void {
  warmStateCodec();
  warmStateTracker();
  performance.now();
}

if ('spare' in boot) {
  try {
    warmUp();
  } catch { /* as above */ }
  void assignment().then(main);
} else {
  void main(boot);
}
