// The floor of a reload pause's chain of messages, for the reload benchmark: the same hops as a
// delta reload's pause, between two warm threads and without plugvisor. workerData: { genUrl, n,
// role } — the benchmark plugins' state generator (state-gen.mjs) and the state to build.
//
//   role "old": serves { t: 'call', id, seq } with the plugins' own touch(), remembering the Map
//     entries it wrote; keeps the port of { t: 'handoff', port } (sent before the pause, as a
//     reload's pre-copy carries it); { t: 'detach' } (queued behind the calls in flight) posts
//     those entries, node:v8 serialised, on that port, then answers the host.
//   role "new": { t: 'activate', port } (sent just before the pause, as a reload's first
//     activation is) waits for the entries on `port`, deserialises them into its own copy of the
//     state and answers the host. The pause ends with both answers.
//
// Plain JavaScript on purpose: a Worker does not get its parent's tsx loader on Node 20.
import { deserialize, serialize } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';

if (parentPort === null) throw new Error('pause-relay-worker must run as a worker thread');
const host = parentPort;
const { createState, keyOf, touch, KEYS_PER_CALL } = await import(workerData.genUrl);
const { n, role } = workerData;
const state = createState('map', n);
const written = new Set();
let handoff;

host.on('message', (m) => {
  if (m.t === 'call') {
    touch(state, 'map', n, m.seq, false);
    for (let j = 0; j < KEYS_PER_CALL; j++) written.add('k' + keyOf(m.seq, j, n, false));
    host.postMessage({ t: 'ok', id: m.id });
  } else if (m.t === 'handoff') {
    handoff = m.port;
  } else if (m.t === 'detach') {
    const entries = [...written].map((k) => [k, state.records.get(k)]);
    written.clear();
    handoff.postMessage(serialize({ entries, touches: state.touches }));
    handoff = undefined;
    host.postMessage({ t: 'detached' });
  } else if (m.t === 'activate') {
    m.port.once('message', (bytes) => {
      const delta = deserialize(bytes);
      for (const [k, v] of delta.entries) state.records.set(k, v);
      state.touches = delta.touches;
      m.port.close();
      host.postMessage({ t: 'activated' });
    });
  }
});
host.postMessage({ t: 'ready', role });
