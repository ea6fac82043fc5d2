/**
 * Plugins the reload and startup scopes write into temp folders and rewrite between reloads, as a
 * user edits a plugin: every rewrite changes the source (a new VERSION string) and the manifest's
 * version, so each reload compiles new code (no compile-cache hit) and every answer says which
 * version gave it.
 *
 *   state plugin   ctx.state is a Map of records or a Float64Array of a chosen size;
 *                  `touch(seq, spread)` mutates 4 entries picked from seq, among 64 hot entries or
 *                  anywhere in the state; `sum()` checks that no change was lost.
 *                  The generator lives in state-gen.mjs beside index.ts, so the benchmark builds
 *                  the very same state on its own thread for the serialise/deserialise floors.
 *   rec plugin     `rec(caller, seq)` records the last seq and the number of calls per caller in
 *                  its state and returns { c, s, prev, v }: a caller can tell, call by call, whether
 *                  one was lost, run twice or run out of order, and by which version.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export type StateKind = 'map' | 'typed';
export type StateTransfer = 'full' | 'delta';

interface Manifest {
  name: string;
  version: string;
  stateTransfer: StateTransfer;
}

function writeManifest(dir: string, m: Manifest): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({
    name: m.name,
    version: m.version,
    private: true,
    type: 'module',
    main: 'index.ts',
    plugvisor: { activation: 'eager', stateTransfer: m.stateTransfer, limits: { callTimeoutMs: 120_000 } },
  }, null, 2)}\n`);
}

/** How many entries the hot-key pattern mutates (HOT_KEYS in state-gen.mjs). */
export const HOT_KEYS = 64;

/** Shared by the plugin (bundled by esbuild) and the benchmark's own thread (imported by URL). */
const STATE_GEN = `// Written by benchmarks/lib/bench-plugins.ts: the state of the reload benchmark's plugins.
export const KEYS_PER_CALL = 4;

export function record(i) {
  return { id: i, name: 'user-' + i, email: 'user' + i + '@example.com', score: i % 1000, hits: 0, tags: ['alpha', 'beta'], updatedAt: 1700000000000 + i };
}

export function createState(kind, n) {
  if (kind === 'typed') return { buf: new Float64Array(n), touches: 0 };
  const records = new Map();
  for (let i = 0; i < n; i++) records.set('k' + i, record(i));
  return { records, touches: 0 };
}

/** Hot keys: every call mutates entries of one set of HOT_KEYS, spread through the state. */
export const HOT_KEYS = ${HOT_KEYS};

/**
 * The entries call \`seq\` mutates: from the hot set, or spread uniformly over the whole state
 * (no locality: the worst case for a delta transfer).
 */
export function keyOf(seq, j, n, spread) {
  if (spread || n <= HOT_KEYS) return (seq * 7919 + j * 104729) % n;
  return ((seq * KEYS_PER_CALL + j) % HOT_KEYS) * Math.floor(n / HOT_KEYS);
}

export function touch(state, kind, n, seq, spread) {
  for (let j = 0; j < KEYS_PER_CALL; j++) {
    const k = keyOf(seq, j, n, spread);
    if (kind === 'typed') {
      state.buf[k] += 1;
    } else {
      const r = state.records.get('k' + k);
      r.hits++;
      r.updatedAt = seq;
    }
  }
  state.touches++;
}

export function sum(state, kind) {
  let hits = 0;
  if (kind === 'typed') for (let i = 0; i < state.buf.length; i++) hits += state.buf[i];
  else for (const r of state.records.values()) hits += r.hits;
  return { hits, touches: state.touches };
}
`;

export interface StatePluginOptions extends Manifest {
  kind: StateKind;
  /** Records in the Map, or elements of the Float64Array. */
  n: number;
}

export function writeStatePlugin(dir: string, o: StatePluginOptions): void {
  writeManifest(dir, o);
  writeFileSync(join(dir, 'state-gen.mjs'), STATE_GEN);
  writeFileSync(join(dir, 'index.ts'), `import { definePlugin } from 'plugvisor';
// @ts-ignore: a plain JavaScript module, bundled by esbuild
import { createState, sum, touch } from './state-gen.mjs';

const VERSION: string = ${JSON.stringify(o.version)};
const KIND = ${JSON.stringify(o.kind)} as const;
const N: number = ${o.n};

export default definePlugin({
  state: () => createState(KIND, N),
  commands: {
    touch(ctx, seq: number, spread: boolean): number {
      touch(ctx.state, KIND, N, seq, spread);
      return seq;
    },
    sum(ctx): { hits: number; touches: number } {
      return sum(ctx.state, KIND);
    },
    version: (): string => VERSION,
  },
});
`);
}

/** The generator, on the benchmark's own thread (for the floors). */
export interface StateGen {
  createState(kind: StateKind, n: number): object;
}

export function stateGenUrl(dir: string): string {
  return pathToFileURL(join(dir, 'state-gen.mjs')).href;
}

export async function importStateGen(dir: string): Promise<StateGen> {
  return (await import(stateGenUrl(dir))) as StateGen;
}

/** What `rec` answers. */
export interface RecReply {
  /** caller and seq, echoed */
  c: number;
  s: number;
  /** The last seq of this caller the state held before this call (-1 for none). */
  prev: number;
  /** The version that ran the call. */
  v: string;
}

export function writeRecPlugin(dir: string, o: Manifest): void {
  writeManifest(dir, o);
  writeFileSync(join(dir, 'index.ts'), `import { definePlugin } from 'plugvisor';

interface Ledger {
  /** caller -> the last seq it sent */
  last: Map<number, number>;
  /** caller -> how many of its calls ran */
  count: Map<number, number>;
}

interface RecReply {
  c: number;
  s: number;
  prev: number;
  v: string;
}

const VERSION: string = ${JSON.stringify(o.version)};

export default definePlugin({
  state: (): Ledger => ({ last: new Map(), count: new Map() }),
  commands: {
    rec(ctx, caller: number, seq: number): RecReply {
      const ledger: Ledger = ctx.state;
      const prev = ledger.last.get(caller) ?? -1;
      ledger.last.set(caller, seq);
      ledger.count.set(caller, (ledger.count.get(caller) ?? 0) + 1);
      return { c: caller, s: seq, prev, v: VERSION };
    },
    counts(ctx): Record<string, number> {
      return Object.fromEntries((ctx.state as Ledger).count);
    },
    version: (): string => VERSION,
  },
});
`);
}

/** "1.0.0" + n -> "1.0.n": every rewrite a new, larger version. */
export function versionOf(n: number): string {
  return `1.0.${n}`;
}
