// A bare worker that imports one module (workerData.url: a compiled plugin), then answers the first
// message the way echo-worker.mjs does: new Worker → online → first reply, like the bare worker
// start, plus the import. The least a worker running that plugin can cost to start, without
// plugvisor's worker runtime.
import { parentPort, workerData } from 'node:worker_threads';

if (parentPort === null) throw new Error('import-worker must run as a worker thread');
const port = parentPort;
const imported = import(workerData.url);
port.on('message', async (msg) => {
  const mod = await imported;
  port.postMessage({ ...msg, commands: Object.keys(mod.default?.commands ?? {}) });
});
