/**
 * The configs a tsconfig.json or jsconfig.json extends, as esbuild finds them: its `paths`,
 * `baseUrl`, `jsx` and the like may come from a base config, so that file governs the compile too.
 *
 * `extends` is a string or (TypeScript 5) an array. A relative or absolute path is tried as
 * written, then with `.json`; a package specifier ("@tsconfig/node20/tsconfig.json", "pkg/base")
 * is looked up in each node_modules folder up the tree: through the package's "exports" when it
 * has them, else as written, with `.json`, or as a folder holding tsconfig.json.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';

/** Every config `config` extends, directly or through another one (`config` itself not included). */
export function extendedConfigs(config: string): string[] {
  const seen = new Set<string>([config]);
  const walk = (file: string): void => {
    for (const spec of extendsOf(file)) {
      const base = resolveExtends(spec, dirname(file));
      if (base === undefined || seen.has(base)) continue;
      seen.add(base);
      walk(base);
    }
  };
  walk(config);
  seen.delete(config);
  return [...seen];
}

function extendsOf(file: string): string[] {
  let value: unknown;
  try {
    // tsconfig.json allows comments and trailing commas; jsonc-parser reads them as tsc does.
    const errors: ParseError[] = [];
    const parsed = parseJsonc(readFileSync(file, 'utf8'), errors, { allowTrailingComma: true }) as { extends?: unknown } | undefined;
    if (errors.length > 0) return [];
    value = parsed?.extends;
  } catch {
    return [];
  }
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && v !== '');
}

/**
 * The file `spec` names. A path not found is still named as written: writing it later changes what
 * compiles. A package not found names nothing (its install is seen through the plugin's packages).
 */
function resolveExtends(spec: string, dir: string): string | undefined {
  if (isAbsolute(spec) || spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..') {
    const file = isAbsolute(spec) ? spec : join(dir, spec);
    return firstFile([file, `${file}.json`]) ?? file;
  }
  const [name, subpath] = splitPackage(spec);
  for (let at = dir; ; at = dirname(at)) {
    if (basename(at) !== 'node_modules') {
      const pkgDir = join(at, 'node_modules', name);
      const exported = exportsTarget(pkgDir, subpath);
      const found = firstFile([...(exported === undefined ? [] : [join(pkgDir, exported)]), join(at, 'node_modules', spec), join(at, 'node_modules', `${spec}.json`), join(at, 'node_modules', spec, 'tsconfig.json')]);
      if (found !== undefined) return found;
    }
    if (dirname(at) === at) return undefined;
  }
}

/** "@scope/pkg/sub/path" → ["@scope/pkg", "./sub/path"]; "pkg" → ["pkg", "."]. */
function splitPackage(spec: string): [string, string] {
  const parts = spec.split('/');
  const n = spec.startsWith('@') ? 2 : 1;
  const rest = parts.slice(n).join('/');
  return [parts.slice(0, n).join('/'), rest === '' ? '.' : `./${rest}`];
}

/** The file a package's "exports" maps `subpath` to (a string, or the first of its conditions that is one). */
function exportsTarget(pkgDir: string, subpath: string): string | undefined {
  let exports: unknown;
  try {
    exports = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { exports?: unknown }).exports;
  } catch {
    return undefined;
  }
  if (exports === undefined || exports === null) return undefined;
  const isMap = typeof exports === 'object' && !Array.isArray(exports) && Object.keys(exports).some((k) => k.startsWith('.'));
  let target: unknown = isMap ? (exports as Record<string, unknown>)[subpath] : subpath === '.' ? exports : undefined;
  while (target !== null && typeof target === 'object' && !Array.isArray(target)) {
    const conditions = target as Record<string, unknown>;
    target = conditions.require ?? conditions.import ?? conditions.default;
  }
  return typeof target === 'string' ? target : undefined;
}

function firstFile(candidates: string[]): string | undefined {
  return candidates.find((f) => existsSync(f) && statSync(f).isFile());
}
