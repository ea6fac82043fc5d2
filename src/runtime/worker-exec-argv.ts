/**
 * The flags a plugin worker starts with: the host's, less the TypeScript loaders and less the
 * flags Node refuses per worker.
 *
 * A worker inherits process.execArgv, so a host run under `--import tsx` would make every plugin
 * worker load tsx first (measured: +74-131 ms per worker start) although plugins arrive as
 * JavaScript already compiled on the host. `--input-type` is dropped too: it makes a worker's file
 * entry fail.
 *
 * Node refuses, in a worker's execArgv, the flags that act on the whole process: V8's own
 * (`--max-old-space-size`, `--expose-gc`, `--stack-size`) and Node's per-process ones (`--title`).
 * A host run as `node --max-old-space-size=4096 host.js` would otherwise start no plugin at all
 * (ERR_WORKER_INVALID_EXEC_ARGV). Those flags apply to every thread already; a worker's own heap is
 * bounded by the plugin's `limits`. Which flags Node refuses is asked of Node itself, so that this
 * holds for the flags of any Node version: see refusedByWorkers().
 */
import { Worker } from 'node:worker_threads';

const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
const TS_LOADER = /(^|[/\\])(tsx|ts-node|@swc-node[/\\]register|esbuild-register)([/\\@]|$)/;

export function workerExecArgv(hostArgv: readonly string[] = process.execArgv): string[] {
  return flagGroups(withoutTypeScriptLoaders(hostArgv)).filter((group) => !refusedByWorkers(group)).flat();
}

export function withoutTypeScriptLoaders(hostArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < hostArgv.length; i++) {
    const arg = hostArgv[i]!;
    if (arg.startsWith('--input-type')) {
      if (!arg.includes('=')) i++;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    if (LOADER_FLAGS.has(flag)) {
      const value = eq < 0 ? hostArgv[i + 1] ?? '' : arg.slice(eq + 1);
      if (eq < 0) i++;
      if (TS_LOADER.test(value)) continue;
      out.push(flag, value);
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** Each flag with the values that follow it (execArgv holds no script name: anything else is a value). */
function flagGroups(argv: readonly string[]): string[][] {
  const groups: string[][] = [];
  for (const arg of argv) {
    const last = groups[groups.length - 1];
    if (arg.startsWith('-') || last === undefined) groups.push([arg]);
    else last.push(arg);
  }
  return groups;
}

const verdicts = new Map<string, boolean>();

/**
 * Whether Node refuses these flags in a worker's execArgv. Node checks execArgv first when a Worker
 * is constructed; the probe then fails on its workerData, which cannot be cloned, before any
 * thread starts (about 0.1-1 ms, once per flag and process).
 */
function refusedByWorkers(group: readonly string[]): boolean {
  const key = group.join('\0');
  let refused = verdicts.get(key);
  if (refused === undefined) {
    try {
      // Should a Node version start the thread before cloning workerData, end it at once.
      void new Worker('', { eval: true, execArgv: [...group], workerData: Symbol('plugvisor: execArgv probe') }).terminate();
      refused = false;
    } catch (err) {
      refused = (err as { code?: unknown }).code === 'ERR_WORKER_INVALID_EXEC_ARGV';
    }
    verdicts.set(key, refused);
  }
  return refused;
}
