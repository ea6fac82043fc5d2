/**
 * Where a plugin's bare imports go. The bundle runs from .plugvisor/cache, where Node would find
 * none of the plugin's packages, so an npm package stays external, rewritten to the absolute file
 * it resolves to from the importing file. A bare specifier that resolves to one of the plugin's own
 * files (a tsconfig `paths` alias, a package.json `"imports"` entry such as `#lib/*`) is bundled
 * like a relative import: it may be TypeScript, which the worker cannot import.
 */
import { existsSync, realpathSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';

const RESOLVING = Symbol('resolving');

/** An esbuild plugin; every package file it makes external is added to `externals` (for the compile cache). */
export function resolveImports(externals: Set<string>): Plugin {
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
        if (isOwnFile(args.path, args.resolveDir, found.path)) return { path: found.path };
        externals.add(found.path);
        // require() takes a path, import a URL.
        const byRequire = args.kind === 'require-call' || args.kind === 'require-resolve';
        return { path: byRequire ? found.path : pathToFileURL(found.path).href, external: true };
      });
    },
  };
}

/**
 * A file of the plugin itself: outside every node_modules folder, and not inside the package the
 * specifier names (a package linked into node_modules from elsewhere, as workspaces do, resolves to
 * its real path outside node_modules and stays a package).
 */
function isOwnFile(specifier: string, resolveDir: string, file: string): boolean {
  if (file.split(/[\\/]/).includes('node_modules')) return false;
  const pkg = installedPackageDir(specifier, resolveDir);
  return pkg === undefined || (file !== pkg && !file.startsWith(pkg + sep));
}

/** The real folder of the package `specifier` names, as Node's lookup would find it from `fromDir`. */
function installedPackageDir(specifier: string, fromDir: string): string | undefined {
  if (specifier.startsWith('#')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(candidate)) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The host's own `--conditions` (`-C`) flags, from its command line and NODE_OPTIONS: packages
 * resolve for a plugin as they would for the host (and its workers, which inherit the flags).
 */
export function hostConditions(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env['NODE_OPTIONS'] ?? ''): string[] {
  const args = [...nodeOptions.split(/\s+/).filter((a) => a !== ''), ...execArgv];
  const conditions: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^(?:--conditions|-C)(?:=(.*))?$/.exec(arg);
    if (m === null) continue;
    const value = m[1] ?? args[++i];
    if (value !== undefined && !conditions.includes(value)) conditions.push(value);
  }
  return conditions;
}
