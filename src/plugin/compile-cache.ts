/**
 * The compile cache index: one small JSON file per entry, naming the compiled output and what it was
 * made from. Keyed by the content of every source file (from the last build's metafile) and the
 * compiler's version and options, not by path, mtime and size. An unchanged plugin starts without
 * running esbuild at all.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface CacheIndex {
  key: string;
  outFile: string;
  contentFile: string;
  hash: string;
  /** The plugin's own source files → sha256 of their content. */
  inputs: Record<string, string>;
}

export function hashFile(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

/** The index entry, if it is still valid for `key`; undefined when anything it was built from changed. */
export function readCacheIndex(indexFile: string, key: string): CacheIndex | undefined {
  let index: CacheIndex;
  try {
    index = JSON.parse(readFileSync(indexFile, 'utf8')) as CacheIndex;
  } catch {
    return undefined;
  }
  if (index.key !== key || !existsSync(index.contentFile ?? '')) return undefined;
  for (const [file, hash] of Object.entries(index.inputs)) if (hashFile(file) !== hash) return undefined;
  return index;
}

export function writeCacheIndex(indexFile: string, index: CacheIndex): void {
  mkdirSync(dirname(indexFile), { recursive: true });
  const tmp = `${indexFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(index));
  renameSync(tmp, indexFile);
}
