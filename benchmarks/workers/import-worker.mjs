// A bare worker that imports one module (workerData.url: a compiled plugin) and says so: the
// least a worker running that plugin can cost to start, without plugvisor's worker runtime.
import { parentPort, workerData } from 'node:worker_threads';

if (parentPort === null) throw new Error('import-worker must run as a worker thread');
const port = parentPort;
const mod = await import(workerData.url);
port.postMessage({ t: 'imported', commands: Object.keys(mod.default?.commands ?? {}) });
