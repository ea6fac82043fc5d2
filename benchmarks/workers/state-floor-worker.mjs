// The serialise/deserialise floor of the reload benchmark, on a thread of its own that holds one
// state, as a plugin's worker does (measuring on the benchmark's main thread would add the GC of
// everything else that thread holds). workerData: { genUrl, kind, n } — the state generator of the
// benchmark's plugins (state-gen.mjs) and the state to build. Each message measures node:v8
// serialise and deserialise of that state once, and sends the serialised bytes back (moved, not
// copied) for the transfer floor.
import { deserialize, serialize } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';

if (parentPort === null) throw new Error('state-floor-worker must run as a worker thread');
const port = parentPort;
const { createState } = await import(workerData.genUrl);
const state = createState(workerData.kind, workerData.n);
let copy;
port.on('message', () => {
  let t0 = performance.now();
  let bytes = serialize(state);
  const serializeMs = performance.now() - t0;
  t0 = performance.now();
  copy = deserialize(bytes);
  const deserializeMs = performance.now() - t0;
  copy = undefined;
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = new Uint8Array(bytes);
  port.postMessage({ serializeMs, deserializeMs, bytes }, [bytes.buffer]);
});
port.postMessage({ ready: true });
