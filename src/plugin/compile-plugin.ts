/**
 * Turns a plugin's entry (.ts, .mts, .js, .mjs) into one JavaScript module a worker can import:
 * esbuild bundles the plugin's own files with an inline source map (stack traces point at the .ts
 * lines). The transform runs on the host: loading esbuild inside every worker would add ~60 ms to
 * each start. The bundle's metafile lists every source file the plugin is made of (for the watcher).
 *
 * npm packages the plugin imports stay external, rewritten to the absolute file they resolve to from
 * the plugin's folder (the bundle itself lives in the cache folder); `plugvisor` itself resolves to a
 * tiny module, since definePlugin only adds types.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isBuiltin } from 'node:module';
import { build, version as esbuildVersion, type Message, type Plugin } from 'esbuild';
import { PlugvisorError } from '../errors.js';

export interface CompiledPlugin {
  /** file: URL of the compiled module. */
  readonly moduleUrl: string;
  readonly outFile: string;
  /** The content-addressed copy of this version's code (the same file as outFile unless stableOutput). */
  readonly contentFile: string;
  /** Absolute paths of the plugin's own source files (not node_modules). */
  readonly sources: readonly string[];
  readonly hash: string;
  /** Served from the compile cache, without running esbuild. */
  readonly cached: boolean;
  readonly compileMs: number;
}

const PLUGVISOR_SHIM = 'export function definePlugin(definition) { return definition; }\n';

const plugvisorShim: Plugin = {
  name: 'plugvisor-shim',
  setup(b) {
    b.onResolve({ filter: /^plugvisor$/ }, () => ({ path: 'plugvisor', namespace: 'plugvisor-shim' }));
    b.onLoad({ filter: /.*/, namespace: 'plugvisor-shim' }, () => ({ contents: PLUGVISOR_SHIM, loader: 'js' }));
  },
};

const RESOLVING = Symbol('resolving');

const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === RESOLVING || isBuiltin(args.path)) return undefined;
      const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: RESOLVING });
      if (found.errors.length > 0 || found.path === '') {
        return { errors: [{ text: `cannot resolve import "${args.path}" (is the package installed in the plugin's folder?)` }] };
      }
      return { path: pathToFileURL(found.path).href, external: true };
    });
  },
};

export interface CompileOptions {
  /** Reuse an earlier output when every source file still has the same content. Default true. */
  cache?: boolean;
  /**
   * development.preserve_breakpoints: write every version of the plugin to the same file, so the
   * script a debugger sees keeps its URL across reloads and breakpoints set by URL apply to each
   * new worker. (By default each version gets a file named by its content hash.)
   */
  stableOutput?: boolean;
}

/**
 * The compile cache: keyed by the content of every source file (from the last build's metafile)
 * and the compiler's version and options, not by path, mtime and size. An unchanged plugin starts
 * without running esbuild at all.
 */
interface CacheIndex {
  key: string;
  outFile: string;
  contentFile: string;
  hash: string;
  inputs: Record<string, string>;
}

const OPTIONS_KEY = createHash('sha256').update(JSON.stringify({ esbuild: esbuildVersion, target: 'node20', format: 'esm', v: 1 })).digest('hex').slice(0, 16);

export async function compilePlugin(pluginName: string, entryFile: string, cacheDir: string, options: CompileOptions = {}): Promise<CompiledPlugin> {
  const t0 = performance.now();
  const safeName = pluginName.replace(/[^a-zA-Z0-9._-]/g, '_');
  const stable = options.stableOutput === true;
  // Source maps are relative to the output's folder: it must be known before the build.
  const outDir = stable ? join(cacheDir, 'dev', safeName) : cacheDir;
  const indexKey = `${stable ? 'stable:' : ''}${entryFile}`;
  const indexFile = join(cacheDir, 'index', `${createHash('sha256').update(indexKey).digest('hex').slice(0, 24)}.json`);
  if (options.cache !== false) {
    const hit = readCacheIndex(indexFile);
    if (hit !== undefined) {
      return {
        moduleUrl: pathToFileURL(hit.outFile).href, outFile: hit.outFile, contentFile: hit.contentFile,
        sources: Object.keys(hit.inputs), hash: hit.hash, cached: true, compileMs: performance.now() - t0,
      };
    }
  }
  let result;
  try {
    result = await build({
      entryPoints: [entryFile],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: true,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: dirname(entryFile),
      outfile: join(outDir, 'plugin.mjs'),
      // The bundle lives in the cache; keep import.meta.url pointing at the plugin's own entry.
      define: { 'import.meta.url': JSON.stringify(pathToFileURL(entryFile).href) },
      plugins: [plugvisorShim, externalPackages],
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors ?? [];
    const first = errors[0];
    const where = first?.location ? `${resolve(dirname(entryFile), first.location.file)}:${first.location.line}:${first.location.column + 1}` : entryFile;
    const reason = errors.length > 0 ? errors.map((e) => e.text).join('; ') : (err as Error).message;
    throw new PlugvisorError('PLUGVISOR_COMPILE_FAILED', `plugin "${pluginName}": ${where}: ${reason}`, {
      plugin: pluginName, file: first?.location ? resolve(dirname(entryFile), first.location.file) : entryFile, cause: err,
    });
  }
  const code = result.outputFiles[0]!.contents;
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const contentFile = join(outDir, `${safeName}-${hash}.mjs`);
  writeOnce(contentFile, code);
  const outFile = stable ? join(outDir, `${basename(entryFile).replace(/\.[mc]?[jt]s$/, '')}.mjs`) : contentFile;
  const sources = Object.keys(result.metafile.inputs)
    .filter((input) => !input.includes(':') && !input.includes('node_modules'))
    .map((input) => resolve(dirname(entryFile), input));
  writeCacheIndex(indexFile, { key: OPTIONS_KEY, outFile, contentFile, hash, inputs: Object.fromEntries(sources.map((f) => [f, hashFile(f) ?? ''])) });
  return { moduleUrl: pathToFileURL(outFile).href, outFile, contentFile, sources, hash, cached: false, compileMs: performance.now() - t0 };
}

/** Write then rename: a worker never imports a half-written file. Content-addressed: written once. */
function writeOnce(file: string, code: Uint8Array): void {
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, file);
}

/**
 * Make `outFile` hold this version's code before a worker imports it. Only the stable output of
 * preserve_breakpoints needs it: every version shares that file, and a rolled-back reload or a
 * crash restart must not start the code of another version.
 */
export function materialize(compiled: CompiledPlugin): void {
  if (compiled.outFile === compiled.contentFile) return;
  if (hashFileShort(compiled.outFile) === compiled.hash) return;
  const tmp = `${compiled.outFile}.${process.pid}.tmp`;
  writeFileSync(tmp, readFileSync(compiled.contentFile));
  renameSync(tmp, compiled.outFile);
}

function hashFileShort(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
  } catch {
    return undefined;
  }
}

function hashFile(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

function readCacheIndex(indexFile: string): CacheIndex | undefined {
  let index: CacheIndex;
  try {
    index = JSON.parse(readFileSync(indexFile, 'utf8')) as CacheIndex;
  } catch {
    return undefined;
  }
  if (index.key !== OPTIONS_KEY || !existsSync(index.contentFile ?? '')) return undefined;
  for (const [file, hash] of Object.entries(index.inputs)) if (hashFile(file) !== hash) return undefined;
  return index;
}

function writeCacheIndex(indexFile: string, index: CacheIndex): void {
  mkdirSync(dirname(indexFile), { recursive: true });
  const tmp = `${indexFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(index));
  renameSync(tmp, indexFile);
}
