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
import { mkdirSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isBuiltin } from 'node:module';
import { build, type Message, type Plugin } from 'esbuild';
import { PlugvisorError } from '../errors.js';

export interface CompiledPlugin {
  /** file: URL of the compiled module. */
  readonly moduleUrl: string;
  readonly outFile: string;
  /** Absolute paths of the plugin's own source files (not node_modules). */
  readonly sources: readonly string[];
  readonly hash: string;
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

export async function compilePlugin(pluginName: string, entryFile: string, cacheDir: string): Promise<CompiledPlugin> {
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
      outfile: join(cacheDir, 'plugin.mjs'),
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
  const safeName = pluginName.replace(/[^a-zA-Z0-9._-]/g, '_');
  const outFile = join(cacheDir, `${safeName}-${hash}.mjs`);
  if (!existsSync(outFile)) {
    mkdirSync(cacheDir, { recursive: true });
    // Write then rename: a worker never imports a half-written file.
    const tmp = `${outFile}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, outFile);
  }
  const sources = Object.keys(result.metafile.inputs)
    .filter((input) => !input.includes(':') && !input.includes('node_modules'))
    .map((input) => resolve(dirname(entryFile), input));
  return { moduleUrl: pathToFileURL(outFile).href, outFile, sources, hash };
}
