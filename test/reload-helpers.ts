/**
 * A plugin the reload tests rewrite between reloads: every answer says which version gave it, so
 * a test can tell exactly which worker served each call.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import type { TestContext } from 'node:test';
import type { Supervisor } from 'plugvisor';
import { writePlugin } from './helpers.js';

export interface VersionedOptions {
  version: string;
  /** Extra members of the definePlugin object (hooks), as source text. */
  hooks?: string;
  /** Extra source at module top level. */
  prelude?: string;
  dependsOn?: Record<string, string>;
  limits?: Record<string, number>;
  name?: string;
  stateTransfer?: 'full' | 'delta';
  activation?: 'eager' | 'lazy';
}

export function versionedSource(o: VersionedOptions): string {
  return `
import { definePlugin } from 'plugvisor';
${o.prelude ?? ''}
const VERSION = ${JSON.stringify(o.version)};
const held = [];
export default definePlugin({
  state: () => ({ count: 0, log: new Map() }),
  commands: {
    inc(ctx, caller = 'x', seq = 0) {
      ctx.state.count++;
      ctx.state.log.set(caller, seq);
      return { version: VERSION, count: ctx.state.count };
    },
    get(ctx) { return { version: VERSION, count: ctx.state.count }; },
    slow(ctx, ms) { return new Promise((resolve) => setTimeout(() => resolve(VERSION), ms)); },
    /** Settles only when release() is called: a call in flight for as long as a test needs. */
    hold() { return new Promise((resolve) => held.push(resolve)); },
    release() { for (const resolve of held.splice(0)) resolve(VERSION); return true; },
    async viaDependency(ctx, dep, command, ...args) { return ctx.plugins[dep][command](...args); },
    logOf(ctx, caller) { return ctx.state.log.get(caller); },
    /** Mutates a record in place after reading it out of a Map. */
    touch(ctx, key) {
      ctx.state.records ??= new Map();
      let r = ctx.state.records.get(key);
      if (r === undefined) { r = { hits: 0 }; ctx.state.records.set(key, r); }
      r.hits++;
      return r.hits;
    },
    replaceState(ctx) { ctx.state = { ...ctx.state, count: ctx.state.count + 1000 }; return ctx.state.count; },
    crashSoon() { setTimeout(() => { throw new Error('crashing on purpose'); }, 5); return true; },
  },
  connect(ctx, port) {
    port.on('message', (m) => port.postMessage({ version: VERSION, m }));
  },
  ${o.hooks ?? ''}
});
`;
}

/** Write (or rewrite) the versioned plugin in `dir`. */
export function writeVersioned(dir: string, o: VersionedOptions): string {
  writePlugin(dir, {
    'package.json': {
      name: o.name ?? 'versioned',
      version: o.version,
      type: 'module',
      main: 'index.ts',
      plugvisor: {
        dependsOn: o.dependsOn ?? {},
        limits: { callTimeoutMs: 10_000, ...(o.limits ?? {}) },
        ...(o.stateTransfer === undefined ? {} : { stateTransfer: o.stateTransfer }),
        ...(o.activation === undefined ? {} : { activation: o.activation }),
      },
    },
  });
  writeFileSync(join(dir, 'index.ts'), versionedSource(o));
  return dir;
}

/** A sup.connect() channel to a plugin whose connect() echoes: post a message, get the answer. Closed when the test ends. */
export async function connectEcho(t: TestContext, sup: Supervisor, plugin: string): Promise<(m: number) => Promise<unknown>> {
  const port = await sup.connect(plugin);
  t.after(() => port.close());
  return (m) => new Promise((resolve) => {
    port.once('message', resolve);
    port.postMessage(m);
  });
}

export interface SetupGate {
  /** Module top-level source and definePlugin members for the new version (writeVersioned's prelude and hooks). */
  prelude: string;
  hooks: string;
  /** Resolves when the new version's setup() runs: the reload is in its pause. */
  reached: Promise<void>;
  /** Let setup() finish. */
  release(): void;
}

/** A new version whose setup() (inside the reload's pause) tells the test it runs, then waits for release(). */
export function setupGate(t: TestContext): SetupGate {
  const name = `plugvisor-setup-gate-${process.pid}-${++gates}`;
  const bc = new BroadcastChannel(name);
  t.after(() => bc.close());
  const reached = new Promise<void>((resolve) => {
    bc.onmessage = (e) => {
      if ((e as MessageEvent).data === 'in setup') resolve();
    };
  });
  return {
    prelude: `import { BroadcastChannel } from 'node:worker_threads';`,
    hooks: `async setup() {
      const bc = new BroadcastChannel(${JSON.stringify(name)});
      const go = new Promise((resolve) => { bc.onmessage = (e) => { if (e.data === 'go') resolve(); }; });
      bc.postMessage('in setup');
      await go;
      bc.close();
    },`,
    reached,
    release: () => {
      bc.postMessage('go');
      bc.close();
    },
  };
}
let gates = 0;
