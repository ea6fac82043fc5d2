/**
 * The built library (dist/), loaded by URL. Under tsx, `import 'plugvisor'` follows tsconfig
 * `paths` to src/index.ts and would benchmark the TypeScript sources through tsx's loader; we
 * measure what users run. `npm run bench` builds first.
 *
 * PLUGVISOR_BENCH_DIST=/path/to/other/dist measures another build instead (say, `tsc -p
 * tsconfig.build.json --outDir /tmp/before` on the commit before a change), for before/after runs.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Plugvisor = typeof import('plugvisor');

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST_ENTRY = process.env.PLUGVISOR_BENCH_DIST
  ? pathToFileURL(resolve(process.env.PLUGVISOR_BENCH_DIST, 'src', 'index.js'))
  : new URL('../../dist/src/index.js', import.meta.url);

/** The entry module of the build under test: what a child process (a host script) imports too. */
export const DIST_ENTRY_URL: string = DIST_ENTRY.href;

export async function loadPlugvisor(): Promise<Plugvisor> {
  if (!existsSync(DIST_ENTRY)) {
    throw new Error(`benchmarks: ${fileURLToPath(DIST_ENTRY)} not found; run "npm run build" (or "npm run bench", which builds first)`);
  }
  return (await import(DIST_ENTRY.href)) as Plugvisor;
}
