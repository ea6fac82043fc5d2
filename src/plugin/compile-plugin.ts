/**
 * Turns a plugin's entry (.ts, .mts, .js, .mjs, or CommonJS) into one JavaScript module a worker can
 * import: esbuild bundles the plugin's own files with an inline source map (stack traces point at
 * the .ts lines). The transform runs on the host: loading esbuild inside every worker would add
 * ~60 ms to each start. The bundle's metafile lists every source file the plugin is made of (for
 * the watcher).
 *
 * The bundle lives in the cache folder, not beside the sources, so three things are set right:
 * npm packages stay external, rewritten to the absolute file they resolve to from the importing
 * file (resolve-imports.ts); each file's import.meta, __dirname, __filename and require describe
 * the file itself (file-meta.ts); `plugvisor` is the part of the package a worker can use
 * (plugvisor-shim.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, version as esbuildVersion, type BuildResult, type Message } from 'esbuild';
import { PlugvisorError } from '../errors.js';
import { PLUGVISOR_VERSION } from '../version.js';
import { compileSettingsOf, describeExternals, hashFile, hashFolder, packageManifests, readCacheIndex, shortHashFile, writeAtomic, writeCacheIndex } from './compile-cache.js';
import { bundlePrelude, fileMeta, FILE_META_DEFINE } from './file-meta.js';
import { explainShimError, plugvisorShim } from './plugvisor-shim.js';
import { hostConditions, resolveImports } from './resolve-imports.js';

export interface CompiledPlugin {
  /** file: URL of the compiled module. */
  readonly moduleUrl: string;
  readonly outFile: string;
  /** The content-addressed copy of this version's code (the same file as outFile unless stableOutput). */
  readonly contentFile: string;
  /** Absolute paths of the plugin's own source files (not node_modules). */
  readonly sources: readonly string[];
  /** The package.json and tsconfig.json files that govern how the sources compile (see compileSettingsOf). */
  readonly settings: readonly string[];
  /** Where a package.json or tsconfig.json written later would govern the sources instead (see compileSettingsOf). */
  readonly absentSettings: readonly string[];
  /** The package.json of each installed package the code imports (loaded from node_modules, not bundled). */
  readonly packages: readonly string[];
  readonly hash: string;
  /** The compiled code itself: a start after the cache was pruned writes it back. */
  readonly code: Buffer;
  /** Served from the compile cache, without running esbuild. */
  readonly cached: boolean;
  readonly compileMs: number;
}

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
 * The oldest Node plugvisor runs on (engines.node). Not 'node20': for 20.0 esbuild drops the import
 * attributes of an external import (`with { type: 'json' }` of a package's JSON), which Node requires.
 */
const TARGET = 'node20.19';

/** What else a cached output depends on: the compiler, plugvisor (the shims) and the host's conditions. */
function optionsKey(conditions: readonly string[]): string {
  const options = { esbuild: esbuildVersion, plugvisor: PLUGVISOR_VERSION, target: TARGET, format: 'esm', conditions, v: 2 };
  return createHash('sha256').update(JSON.stringify(options)).digest('hex').slice(0, 16);
}

export async function compilePlugin(pluginName: string, entryFile: string, cacheDir: string, options: CompileOptions = {}): Promise<CompiledPlugin> {
  const t0 = performance.now();
  const safeName = pluginName.replace(/[^a-zA-Z0-9._-]/g, '_');
  const stable = options.stableOutput === true;
  const conditions = hostConditions();
  const key = optionsKey(conditions);
  // Source maps are relative to the output's folder: it must be known before the build.
  const outDir = stable ? join(cacheDir, 'dev', safeName) : cacheDir;
  const indexKey = `${stable ? 'stable:' : ''}${entryFile}`;
  const indexFile = join(cacheDir, 'index', `${createHash('sha256').update(indexKey).digest('hex').slice(0, 24)}.json`);
  if (options.cache !== false) {
    const hit = readCacheIndex(indexFile, key);
    const code = hit === undefined ? undefined : readCached(hit.contentFile);
    if (hit !== undefined && code !== undefined) {
      return {
        moduleUrl: pathToFileURL(hit.outFile).href, outFile: hit.outFile, contentFile: hit.contentFile,
        sources: Object.keys(hit.inputs), settings: Object.keys(hit.settings), absentSettings: hit.absent, packages: packageManifests(Object.keys(hit.externals)), hash: hit.hash, code, cached: true, compileMs: performance.now() - t0,
      };
    }
  }
  const externals = new Set<string>();
  const result = await bundle(pluginName, entryFile, join(outDir, 'plugin.mjs'), conditions, externals);
  const output = result.outputFiles[0]!.text;
  const code = Buffer.from(bundlePrelude(output, entryFile) + output);
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const contentFile = join(outDir, `${safeName}-${hash}.mjs`);
  writeOnce(contentFile, code);
  const outFile = stable ? join(outDir, `${basename(entryFile).replace(/\.[mc]?[jt]s$/, '')}.mjs`) : contentFile;
  const sources = Object.keys(result.metafile.inputs)
    .filter((input) => !input.includes(':') && !input.includes('node_modules'))
    .map((input) => resolve(dirname(entryFile), input));
  const { files: settings, absent } = compileSettingsOf(sources);
  writeCacheIndex(indexFile, {
    key, outFile, contentFile, hash,
    inputs: Object.fromEntries(sources.map((f) => [f, hashFile(f) ?? ''])),
    settings: Object.fromEntries(settings.map((f) => [f, hashFile(f) ?? ''])),
    folders: Object.fromEntries([...new Set(sources.map((f) => dirname(f)))].map((d) => [d, hashFolder(d)])),
    externals: describeExternals(externals),
    absent,
  });
  return { moduleUrl: pathToFileURL(outFile).href, outFile, contentFile, sources, settings, absentSettings: absent, packages: packageManifests(externals), hash, code, cached: false, compileMs: performance.now() - t0 };
}

type Bundle = BuildResult<{ write: false; metafile: true }>;

async function bundle(pluginName: string, entryFile: string, outfile: string, conditions: string[], externals: Set<string>): Promise<Bundle> {
  try {
    return await build({
      entryPoints: [entryFile],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      target: TARGET,
      sourcemap: 'inline',
      sourcesContent: true,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: dirname(entryFile),
      outfile,
      // Node's resolution rules, not a bundler's: no "module" field or condition (setting
      // `conditions`, even to [], drops esbuild's default "module"), plus the host's --conditions.
      conditions,
      mainFields: ['main'],
      define: { ...FILE_META_DEFINE },
      plugins: [plugvisorShim, resolveImports(externals), fileMeta()],
    });
  } catch (err) {
    throw compileError(pluginName, entryFile, err);
  }
}

function compileError(pluginName: string, entryFile: string, err: unknown): PlugvisorError {
  const errors = (err as { errors?: Message[] }).errors ?? [];
  const first = errors[0];
  const file = first?.location ? resolve(dirname(entryFile), first.location.file) : entryFile;
  const where = first?.location ? `${file}:${first.location.line}:${first.location.column + 1}` : entryFile;
  const reason = errors.length > 0 ? errors.map((e) => explainShimError(e) ?? e.text).join('; ') : (err as Error).message;
  return new PlugvisorError('PLUGVISOR_COMPILE_FAILED', `plugin "${pluginName}": ${where}: ${reason}`, { plugin: pluginName, file, cause: err });
}

/** Write then rename: a worker never imports a half-written file. Content-addressed: written once. */
function writeOnce(file: string, code: Uint8Array): void {
  if (!existsSync(file)) writeAtomic(file, code);
}

/**
 * Make `outFile` hold this version's code before a worker imports it: the stable output of
 * preserve_breakpoints is shared by every version (a rolled-back reload or a crash restart must not
 * start another version's code), and a pruned cache (pruneCompileCache) may have removed the file.
 */
export function materialize(compiled: CompiledPlugin): void {
  // A content-addressed file that exists holds this code; a shared one must be checked.
  if (compiled.outFile === compiled.contentFile ? existsSync(compiled.outFile) : shortHashFile(compiled.outFile) === compiled.hash) return;
  writeAtomic(compiled.outFile, compiled.code);
}

function readCached(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}
