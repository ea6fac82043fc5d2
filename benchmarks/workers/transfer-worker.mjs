// The floor of a state hand-over between threads, for the reload benchmark: the host transfers a
// node:v8-serialised state to this worker (the buffer is moved, not copied), the worker
// acknowledges receipt at once (that round trip is the transfer), then deserialises it in its own
// fresh heap and reports how long that took (what a new plugin version's worker pays).
//
// Plain JavaScript on purpose: a Worker does not get its parent's tsx loader on Node 20.
import { deserialize } from 'node:v8';
import { parentPort } from 'node:worker_threads';

if (parentPort === null) throw new Error('transfer-worker must run as a worker thread');
const port = parentPort;
let kept;
port.on('message', (msg) => {
  port.postMessage({ t: 'received', bytes: msg.bytes.byteLength });
  if (!msg.deserialize) return;
  const t0 = performance.now();
  kept = deserialize(msg.bytes);
  port.postMessage({ t: 'deserialized', ms: performance.now() - t0, type: typeof kept });
});
