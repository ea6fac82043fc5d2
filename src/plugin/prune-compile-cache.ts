/**
 * Keep .plugvisor/cache from growing with every save: each compiled version is a file of its own
 * (`<plugin>-<content hash>.mjs`, with its source map inline), and a day of editing leaves hundreds.
 * After a load or reload, the files of each plugin beyond the KEEP_PER_PLUGIN newest are removed,
 * except the ones the running versions use and the ones younger than MIN_AGE_MS (another process
 * sharing the folder, a `dev plugin validate` say, may have just written them). A version whose file
 * was removed all the same writes it back before its next worker starts (materialize()).
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const KEEP_PER_PLUGIN = 5;
const MIN_AGE_MS = 10 * 60_000;
const VERSION_FILE = /^(.+)-[0-9a-f]{16}\.mjs$/;

/** Remove old compiled versions under `cacheDir`; `inUse` are files that must stay. Returns how many went. */
export function pruneCompileCache(cacheDir: string, inUse: ReadonlySet<string>, now = Date.now()): number {
  let removed = 0;
  for (const dir of [cacheDir, ...subfolders(join(cacheDir, 'dev'))]) {
    const byPlugin = new Map<string, Array<{ file: string; mtimeMs: number }>>();
    for (const name of entries(dir)) {
      const plugin = VERSION_FILE.exec(name)?.[1];
      if (plugin === undefined) continue;
      const file = join(dir, name);
      const mtimeMs = mtimeOf(file);
      if (mtimeMs === undefined) continue;
      let versions = byPlugin.get(plugin);
      if (versions === undefined) byPlugin.set(plugin, (versions = []));
      versions.push({ file, mtimeMs });
    }
    for (const versions of byPlugin.values()) {
      versions.sort((a, b) => b.mtimeMs - a.mtimeMs);
      for (const { file, mtimeMs } of versions.slice(KEEP_PER_PLUGIN)) {
        if (inUse.has(file) || now - mtimeMs < MIN_AGE_MS) continue;
        rmSync(file, { force: true });
        removed++;
      }
    }
  }
  return removed;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function subfolders(dir: string): string[] {
  return entries(dir).map((name) => join(dir, name)).filter((path) => statSync(path, { throwIfNoEntry: false })?.isDirectory() === true);
}

function mtimeOf(file: string): number | undefined {
  return statSync(file, { throwIfNoEntry: false })?.mtimeMs;
}
