import { readFileSync } from 'node:fs';

/** The package root: src/ when run from source (tsx), dist/src/ when built. */
function readOwnPackage(): { version: string } {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'plugvisor') return pkg;
    } catch {
      // not at this depth
    }
  }
  throw new Error('plugvisor: cannot find its own package.json');
}

/** This plugvisor's version, checked against plugins' engines.plugvisor. */
export const PLUGVISOR_VERSION: string = readOwnPackage().version;
