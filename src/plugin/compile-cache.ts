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
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface CacheIndex {
  key: string;
  outFile: string;
  contentFile: string;
  hash: string;
  /** The plugin's own source files → sha256 of their content. */
  inputs: Record<string, string>;
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

/** The package.json that governs `file` (Node's package scope): the nearest one up the tree. */
function packageJsonOf(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
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
  if (index.key !== key || !existsSync(index.contentFile ?? '') || index.externals === undefined) return undefined;
  for (const [file, hash] of Object.entries(index.inputs)) if (hashFile(file) !== hash) return undefined;
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
