/**
 * The one generic plugin worker. The host starts it with PluginWorkerData; it imports the compiled
 * plugin, reports the plugin's shape, then serves calls and management requests on parentPort and
 * calls from dependents on their direct ports.
 *
 *   host ──call/batch──▶ parentPort ──▶ RpcServer ──▶ commands[c](ctx, ...a)
 *   host ◀─ok/err/batch─ parentPort ◀── Outbox (one message per tick)
 *   host ──req(op)─────▶ control handlers ──res──▶ host
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import { PROTOCOL_VERSION, type CallOrBatch, type ControlRequest, type ControlResponse, type LoadedMessage, type PluginWorkerData } from '../src/protocol/messages.js';
import { toWireError } from '../src/protocol/wire-error.js';
import type { PluginContext, PluginProxies } from '../src/protocol/plugin-definition.js';
import { createControlHandlers } from './control-handlers.js';
import { loadPlugin, shapeOf } from './load-plugin.js';
import { RpcServer } from './rpc-server.js';

const data = workerData as PluginWorkerData;
if (parentPort === null || data?.protocol !== PROTOCOL_VERSION) {
  throw new Error(`plugvisor plugin worker: started without the host's workerData (protocol ${PROTOCOL_VERSION} expected)`);
}
const host = parentPort;
// Stack traces of TypeScript plugins point at their .ts lines.
process.setSourceMapsEnabled(true);

async function main(): Promise<void> {
  let definition;
  try {
    definition = await loadPlugin(data.moduleUrl, data.entryFile);
  } catch (err) {
    host.postMessage({ t: 'load-failed', e: toWireError(err) } satisfies LoadedMessage);
    return;
  }
  const ctx: PluginContext & { plugins: PluginProxies } = {
    name: data.plugin,
    version: data.version,
    state: undefined,
    config: data.config,
    log: pino({ name: data.plugin, level: data.logLevel }).child({ generation: data.generation }),
    plugins: {},
  };
  const server = new RpcServer(definition, ctx, data.generation);
  const serve = (port: MessagePort | typeof host, onControl?: (req: ControlRequest) => void): void => {
    const outbox = server.createOutbox(port as MessagePort);
    port.on('message', (msg: CallOrBatch | ControlRequest) => {
      if (msg.t === 'call') server.handle(msg, outbox);
      else if (msg.t === 'batch') for (const call of msg.m) server.handle(call, outbox);
      else if (msg.t === 'req' && onControl !== undefined) onControl(msg);
      else throw new Error(`plugvisor plugin worker: unexpected message type ${JSON.stringify((msg as { t?: unknown }).t)}`);
    });
  };
  const handlers = createControlHandlers({ definition, ctx, server, serve: (port) => serve(port) });
  serve(host, (req) => {
    const respond = (response: ControlResponse, transfer?: ArrayBuffer[]): void => host.postMessage(response, transfer);
    Promise.resolve()
      .then(() => (handlers[req.op] as (p: unknown) => unknown)(req.p))
      .then(
        (v) => {
          const transfer = v instanceof Uint8Array && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength
            ? [v.buffer as ArrayBuffer] : undefined;
          respond({ t: 'res', id: req.id, ok: true, v }, transfer);
        },
        (err: unknown) => respond({ t: 'res', id: req.id, ok: false, e: toWireError(err) }),
      );
  });
  host.postMessage({ t: 'loaded', shape: shapeOf(definition) } satisfies LoadedMessage);
}

void main();
