// The bare baseline: a worker that posts every message straight back on the port it came from.
// No ids table, no batching, no error handling: the least a MessagePort round trip can cost.
//
// Plain JavaScript on purpose: on Node 20, a Worker does not get the tsx loader hooks of its parent
// (ERR_UNKNOWN_FILE_EXTENSION for .ts), and plugvisor's own plugin worker runs compiled JS too.
import { parentPort } from 'node:worker_threads';

if (parentPort === null) throw new Error('echo-worker must run as a worker thread');
const port = parentPort;
port.on('message', (msg) => port.postMessage(msg));
