/**
 * The flags a plugin worker starts with: the host's, less the TypeScript loaders. A worker
 * inherits process.execArgv, so a host run under `--import tsx` would make every plugin worker load
 * tsx first (measured: +74-131 ms per worker start) although plugins arrive as JavaScript already
 * compiled on the host. `--input-type` is dropped too: it makes a worker's file entry fail.
 */
const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
const TS_LOADER = /(^|[/\\])(tsx|ts-node|@swc-node[/\\]register|esbuild-register)([/\\@]|$)/;

export function workerExecArgv(hostArgv: readonly string[] = process.execArgv): string[] {
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
