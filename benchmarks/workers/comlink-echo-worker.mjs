// The comlink baseline: the same echo, exposed with comlink (and its own Node adapter) over the
// worker's parentPort. Plain JavaScript for the reason given in echo-worker.mjs.
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

if (parentPort === null) throw new Error('comlink-echo-worker must run as a worker thread');
expose({ echo: (x) => x }, nodeEndpoint(parentPort));
