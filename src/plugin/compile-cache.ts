/**
 * The compile cache index: one small JSON file per entry, naming the compiled output and what it was
 * made from. Keyed by the content of every source file (from the last build's metafile) and the
 * compiler's version and options, not by path, mtime and size. An unchanged plugin starts without
 * running esbuild at all.
 *
 * The bundle also hard-codes the file each npm package resolved to. `npm update` can move a
 * package's entry (new "exports", old file deleted) without touching the plugin's sources, so an
 * entry is also stale when one of those files is gone or its package's package.json changed.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { extendedConfigs } from './tsconfig-extends.js';

export interface CacheIndex {
  key: string;
  outFile: string;
  contentFile: string;
  hash: string;
  /** The plugin's own source files → sha256 of their content. */
  inputs: Record<string, string>;
  /** The package.json and tsconfig.json files that govern how the sources compile → sha256 of their content. */
  settings: Record<string, string>;
  /**
   * Each folder holding a source → sha256 of its file names: a file added beside an import can
   * change what it resolves to (`./util` is util.ts once util.ts is there, not util.js).
   */
  folders: Record<string, string>;
  /** The package.json, tsconfig.json and jsconfig.json paths nearer than those in `settings`, absent then. */
  absent: string[];
  /** The package files the bundle imports → sha256 of their package's package.json ('' if none). */
  externals: Record<string, string>;
}

export function hashFile(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * The nearest of `names` up the tree from `file`'s folder (the first name a folder has wins).
 * `absent` gets each path looked at before it: one written later would be found first.
 */
function nearest(file: string, names: readonly string[], absent?: Set<string>): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    for (const name of names) {
      const candidate = join(dir, name);
      if (existsSync(candidate)) return candidate;
      absent?.add(candidate);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The package.json that governs `file` (Node's package scope): the nearest one up the tree. */
function packageJsonOf(file: string): string | undefined {
  return nearest(file, ['package.json']);
}

/**
 * The files besides the sources that change what esbuild makes of them: each source's package.json
 * (`"imports"`, `"type"`) and tsconfig.json or jsconfig.json (`paths`, `baseUrl`, `jsx`, …), as
 * esbuild finds them, the nearest up the tree, with every config that one extends; and `absent`,
 * the paths looked at on the way up that hold no such file (one written there would be used).
 */
export function compileSettingsOf(sources: Iterable<string>): { files: string[]; absent: string[] } {
  const settings = new Set<string>();
  const configs = new Set<string>();
  const absent = new Set<string>();
  for (const source of sources) {
    const tsconfig = nearest(source, ['tsconfig.json', 'jsconfig.json'], absent);
    for (const file of [nearest(source, ['package.json'], absent), tsconfig]) if (file !== undefined) settings.add(file);
    if (tsconfig !== undefined && !configs.has(tsconfig)) {
      configs.add(tsconfig);
      for (const base of extendedConfigs(tsconfig)) settings.add(base);
    }
  }
  return { files: [...settings], absent: [...absent] };
}

/**
 * The package.json at the root of the installed package a file belongs to (node_modules/<name> or
 * node_modules/@scope/<name>, the innermost), or undefined outside node_modules. Its version
 * changes when the package is updated; a nested package.json (a dist/esm one) need not.
 */
export function packageManifestOf(file: string): string | undefined {
  const parts = file.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length - 1) return undefined;
  const depth = parts[at + 1]!.startsWith('@') ? 3 : 2;
  return join(parts.slice(0, at + depth).join(sep) || sep, 'package.json');
}

/** The root package.json of each installed package among `files` (see packageManifestOf). */
export function packageManifests(files: Iterable<string>): string[] {
  const manifests = new Set<string>();
  for (const file of files) {
    const manifest = packageManifestOf(file);
    if (manifest !== undefined) manifests.add(manifest);
  }
  return [...manifests];
}

/** What `externals` records for the package files a build imported. */
export function describeExternals(files: Iterable<string>): Record<string, string> {
  const manifests = new Map<string, string>();
  const out: Record<string, string> = {};
  for (const file of files) out[file] = manifestHash(file, manifests);
  return out;
}

function manifestHash(file: string, seen: Map<string, string>): string {
  const manifest = packageJsonOf(file);
  if (manifest === undefined) return '';
  let hash = seen.get(manifest);
  if (hash === undefined) {
    hash = hashFile(manifest) ?? '';
    seen.set(manifest, hash);
  }
  return hash;
}

/** The sha256 of the names in a folder, sorted ('' when it cannot be read). */
export function hashFolder(dir: string): string {
  try {
    return createHash('sha256').update(readdirSync(dir).sort().join('\n')).digest('hex');
  } catch {
    return '';
  }
}

/** The first 16 hex digits of a file's sha256 (what names a compiled version), or undefined. */
export function shortHashFile(file: string): string | undefined {
  return hashFile(file)?.slice(0, 16);
}

/** The index entry, if it is still valid for `key`; undefined when anything it was built from changed. */
export function readCacheIndex(indexFile: string, key: string): CacheIndex | undefined {
  let index: CacheIndex;
  try {
    index = JSON.parse(readFileSync(indexFile, 'utf8')) as CacheIndex;
  } catch {
    return undefined;
  }
  if (index.key !== key || !existsSync(index.contentFile ?? '') || index.externals === undefined || index.settings === undefined || index.folders === undefined || index.absent === undefined) return undefined;
  if (index.absent.some((file) => existsSync(file))) return undefined;
  for (const [file, hash] of Object.entries({ ...index.inputs, ...index.settings })) if ((hashFile(file) ?? '') !== hash) return undefined;
  for (const [dir, hash] of Object.entries(index.folders)) if (hashFolder(dir) !== hash) return undefined;
  const manifests = new Map<string, string>();
  for (const [file, hash] of Object.entries(index.externals)) {
    if (!existsSync(file) || manifestHash(file, manifests) !== hash) return undefined;
  }
  return index;
}

export function writeCacheIndex(indexFile: string, index: CacheIndex): void {
  writeAtomic(indexFile, JSON.stringify(index));
}

/** Write a cache file whole or not at all: a worker or another host may read it meanwhile. */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
