/**
 * Where to see that a plugin's npm dependencies were installed or updated. A package's own folder
 * is replaced by an update (npm moves the new one into place), which a watcher on it does not
 * follow; every package manager also rewrites a file of its own at the top of the node_modules
 * folder it installed into, at the end of each install: that folder stays, and so does a watcher
 * on it.
 */
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';

/** npm's hidden lockfile, pnpm's state, yarn berry's and yarn classic's. */
const MARKER_NAMES = ['.package-lock.json', '.modules.yaml', '.yarn-state.yml', '.yarn-integrity'];

/** The outermost node_modules folder a file lies in (where an install writes its marker). */
export function installRootOf(file: string): string | undefined {
  const parts = file.split(sep);
  const at = parts.indexOf('node_modules');
  return at < 0 ? undefined : parts.slice(0, at + 1).join(sep) || sep;
}

/** The marker files present for these package manifests, each with the manifests it covers. */
export function installMarkers(manifests: Iterable<string>): Map<string, string[]> {
  const markersOfRoot = new Map<string, string[]>();
  const covered = new Map<string, string[]>();
  for (const manifest of manifests) {
    const root = installRootOf(manifest);
    if (root === undefined) continue;
    let markers = markersOfRoot.get(root);
    if (markers === undefined) markersOfRoot.set(root, (markers = MARKER_NAMES.map((name) => join(root, name)).filter((f) => existsSync(f))));
    for (const marker of markers) {
      const list = covered.get(marker);
      if (list === undefined) covered.set(marker, [manifest]);
      else list.push(manifest);
    }
  }
  return covered;
}
