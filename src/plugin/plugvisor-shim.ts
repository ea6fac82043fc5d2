/**
 * What `import … from 'plugvisor'` gives a plugin inside its worker. The package's entry is the host
 * side (Supervisor, the dev server, esbuild), which a worker must not load; a plugin gets the part
 * that makes sense in a worker, bundled into its module: definePlugin, the error helpers and the
 * version (types are erased anyway). Any other name is a compile error that says so.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Message, Plugin } from 'esbuild';
import { PLUGVISOR_VERSION } from '../version.js';

/** The names a plugin can import from 'plugvisor' at run time. */
export const WORKER_EXPORTS = ['definePlugin', 'PlugvisorError', 'ErrorCodes', 'isPlugvisorError', 'PLUGVISOR_VERSION'] as const;

const NAMESPACE = 'plugvisor-shim';

/** errors.ts imports nothing: its built (or, under tsx, its source) file is bundled as it is. */
function errorsModule(): string {
  const built = fileURLToPath(new URL('../errors.js', import.meta.url));
  return existsSync(built) ? built : fileURLToPath(new URL('../errors.ts', import.meta.url));
}

const SHIM = [
  'export { PlugvisorError, ErrorCodes, isPlugvisorError } from "plugvisor:errors";',
  // definePlugin only adds types (see protocol/plugin-definition.ts).
  'export function definePlugin(definition) { return definition; }',
  `export const PLUGVISOR_VERSION = ${JSON.stringify(PLUGVISOR_VERSION)};`,
].join('\n');

export const plugvisorShim: Plugin = {
  name: NAMESPACE,
  setup(b) {
    b.onResolve({ filter: /^plugvisor$/ }, () => ({ path: 'plugvisor', namespace: NAMESPACE }));
    b.onResolve({ filter: /^plugvisor:errors$/, namespace: NAMESPACE }, () => ({ path: errorsModule(), namespace: NAMESPACE }));
    b.onLoad({ filter: /^plugvisor$/, namespace: NAMESPACE }, () => ({ contents: SHIM, loader: 'js' }));
    b.onLoad({ filter: /[\\/]errors\.[jt]s$/, namespace: NAMESPACE }, async (args) => ({
      contents: await readFile(args.path, 'utf8'),
      loader: args.path.endsWith('.ts') ? 'ts' : 'js',
    }));
  },
};

/** esbuild's "No matching export" for 'plugvisor', as a message that names the import and what there is. */
export function explainShimError(message: Message): string | undefined {
  const m = /^No matching export in "plugvisor-shim:plugvisor" for import "([^"]+)"/.exec(message.text);
  if (m === null) return undefined;
  return `"${m[1]}" cannot be imported from 'plugvisor' inside a plugin (its worker runs without the host side); a plugin can import ${WORKER_EXPORTS.join(', ')} and the types`;
}
