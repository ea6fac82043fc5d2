/**
 * Where a plugin's bare imports go. The bundle runs from .plugvisor/cache, where Node would find
 * none of the plugin's packages, so an npm package stays external, rewritten to the absolute file
 * it resolves to from the importing file.
 */
import { isBuiltin } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';

const RESOLVING = Symbol('resolving');

export function resolveImports(): Plugin {
  return {
    name: 'plugvisor-resolve-imports',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === RESOLVING || isBuiltin(args.path)) return undefined;
        const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: RESOLVING });
        if (found.errors.length > 0 || found.path === '') {
          return { errors: [{ text: `cannot resolve import "${args.path}" (is the package installed in the plugin's folder?)` }] };
        }
        if (found.external || found.namespace !== 'file') return found;
        // require() takes a path, import a URL.
        const byRequire = args.kind === 'require-call' || args.kind === 'require-resolve';
        return { path: byRequire ? found.path : pathToFileURL(found.path).href, external: true };
      });
    },
  };
}
