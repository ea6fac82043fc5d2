/**
 * What each bundled file knows about itself. esbuild puts all of a plugin's files into one module
 * in .plugvisor/cache, so `import.meta`, `__dirname`, `__filename` and `require` would all describe
 * that cache file. Under Node each file sees its own: this restores that.
 *
 *   source file (lib/util.ts)                    bundle (.plugvisor/cache/<name>-<hash>.mjs)
 *   ───────────────────────────────              ────────────────────────────────────────────
 *   import.meta.url            ── define ──►     __pv_file.url          (a per-file binding,
 *   __dirname / __filename     ── define ──►     __pv_file.dirname       renamed per module by
 *                                                                        esbuild's scope hoisting)
 *   onLoad prepends, on line 1:                  var __pv_file = __pvFileMeta("file:///…/lib/util.ts", …);
 *   output prelude, on line 1:                   function __pvFileMeta(…) {…}   const require = createRequire(entry)
 *
 * Both additions go on line 1 without a newline, so every line of the source keeps its number:
 * stack traces and the inline source map still point at the right .ts lines.
 *
 * `define` replaces only free references: a file that declares its own `__dirname` (the usual ESM
 * `const __dirname = dirname(fileURLToPath(import.meta.url))`) keeps it.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isBuiltin } from 'node:module';
import type { Loader, Plugin, PluginBuild } from 'esbuild';

const META = '__pv_file';

/** The `define` entries that route every file's free references to its own binding. */
export const FILE_META_DEFINE: Readonly<Record<string, string>> = {
  'import.meta': META,
  __dirname: `${META}.dirname`,
  __filename: `${META}.filename`,
};

const MENTIONS_META = /\bimport\s*\.\s*meta\b|\b__dirname\b|\b__filename\b/;

const LOADERS: Record<string, Loader> = { ts: 'ts', mts: 'ts', cts: 'ts', tsx: 'tsx', js: 'js', mjs: 'js', cjs: 'js', jsx: 'jsx' };

/** An esbuild plugin that gives each of the plugin's own files that needs it its own `__pv_file`. */
export function fileMeta(): Plugin {
  return {
    name: 'plugvisor-file-meta',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        if (args.namespace !== 'file') return undefined;
        const source = await readFile(args.path, 'utf8');
        if (!MENTIONS_META.test(source)) return undefined;
        const loader = LOADERS[args.path.slice(args.path.lastIndexOf('.') + 1)] ?? 'js';
        const resolved = await resolveLiteralPackages(b, source, args.path);
        return { contents: withMetaBinding(source, args.path, resolved), loader };
      });
    },
  };
}

const RESOLVE_LITERAL = /\bimport\s*\.\s*meta\s*\.\s*resolve\(\s*(['"])([^'"./][^'"]*)\1\s*\)/g;

/**
 * `import.meta.resolve('pkg')` with a literal package name, resolved now as an import of it would
 * be (Node's conditions for `import`, the host's --conditions), to the URL the worker can use.
 * Going through b.resolve also records the package file for the compile cache.
 */
async function resolveLiteralPackages(b: PluginBuild, source: string, file: string): Promise<Record<string, string>> {
  const resolved: Record<string, string> = {};
  for (const [, , specifier] of source.matchAll(RESOLVE_LITERAL)) {
    if (specifier === undefined || isBuiltin(specifier) || specifier in resolved) continue;
    const found = await b.resolve(specifier, { kind: 'import-statement', resolveDir: dirname(file), importer: file });
    if (found.errors.length > 0 || found.path === '') continue;
    // A package comes back external, already a URL (resolve-imports.ts); an own file (an alias) as a path.
    if (found.external && found.path.startsWith('file:')) resolved[specifier] = found.path;
    else if (found.namespace === 'file') resolved[specifier] = pathToFileURL(found.path).href;
  }
  return resolved;
}

/** `source` with its `__pv_file` declared at the start of line 1 (after a hashbang, which must stay first). */
export function withMetaBinding(source: string, file: string, resolved: Record<string, string> = {}): string {
  const args = [pathToFileURL(file).href, file, dirname(file), resolved].map((a) => JSON.stringify(a)).join(', ');
  const declaration = `var ${META} = __pvFileMeta(${args});`;
  if (!source.startsWith('#!')) return declaration + source;
  const eol = source.indexOf('\n');
  return eol < 0 ? source : source.slice(0, eol + 1) + declaration + source.slice(eol + 1);
}

/**
 * The text put before line 1 of the bundle. `__pvFileMeta` is referenced by the per-file
 * declarations (esbuild leaves that free name alone and renames any user symbol that clashes).
 * `require` is defined only when esbuild's `__require` helper is in the bundle: that helper looks
 * for a global `require`, which an ES module lacks ("Dynamic require of "fs" is not supported"),
 * and its presence makes esbuild rename any top-level `require` of the plugin's own, so the name
 * is free. Required paths of packages are already absolute (see resolve-imports.ts), so the base
 * of createRequire only matters for a computed `require(name)`: the entry's folder.
 */
export function bundlePrelude(code: string, entryFile: string): string {
  let prelude = '';
  if (code.includes('__pvFileMeta(')) prelude += FILE_META_RUNTIME;
  if (code.includes('Dynamic require of "')) {
    prelude += `import { createRequire as __pvCreateRequire } from "node:module";const require = __pvCreateRequire(${JSON.stringify(pathToFileURL(entryFile).href)});`;
  }
  return prelude;
}

/**
 * What a file's `import.meta` holds: its real url, filename and dirname, and a `resolve()` that
 * resolves from the real file. Relative and absolute specifiers resolve as URLs; builtins to
 * `node:` URLs; a literal package name to what the compile resolved it to; any other package name
 * through require's resolution from the file's folder (Node's ESM resolver cannot be given another
 * parent without loader hooks), so for a package whose `exports` differ for `import` and `require`
 * a computed name gives the `require` file.
 */
const FILE_META_RUNTIME = 'function __pvFileMeta(url, filename, dirname, resolved) {'
  + 'const resolve = (specifier) => {'
  + 'if (Object.hasOwn(resolved, specifier)) return resolved[specifier];'
  + 'if (/^(\\.{1,2}\\/|\\/|file:|data:|node:)/.test(specifier)) return new URL(specifier, url).href;'
  + 'const m = process.getBuiltinModule("node:module");'
  + 'if (m.isBuiltin(specifier)) return "node:" + specifier;'
  + 'return process.getBuiltinModule("node:url").pathToFileURL(m.createRequire(url).resolve(specifier)).href;'
  + '};'
  + 'return { url, filename, dirname, resolve };'
  + '}';
