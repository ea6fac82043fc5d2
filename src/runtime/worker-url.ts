/**
 * Where the generic plugin worker lives. The one place the host names worker files: dist/src/runtime
 * → dist/workers. Running the host from TypeScript sources (tsx) still starts the built worker, so
 * workers never pay for a TypeScript loader.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function builtWorker(file: string): URL {
  const candidates = [new URL(`../../workers/${file}`, import.meta.url), new URL(`../../dist/workers/${file}`, import.meta.url)];
  const found = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (found === undefined) {
    throw new Error(`plugvisor: worker file ${file} not found (run "npm run build"); looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')}`);
  }
  return found;
}

export const PLUGIN_WORKER_URL = builtWorker('plugin-worker.js');
export const POOL_WORKER_URL = builtWorker('pool-entry.cjs');
