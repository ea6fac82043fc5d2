/**
 * `plugvisor dev plugin analyze-deps NAME`: the plugin's dependency tree (dependsOn, recursively,
 * with ranges and the loaded versions), the plugins a reload of it drags along (its dependents, in
 * reload order), its npm packages, and what its package.json on disk would change.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import semver from 'semver';
import { readManifest } from '../plugin/manifest.js';
import type { Supervisor } from '../supervisor.js';

export interface DependencyNode {
  name: string;
  range: string;
  loadedVersion: string | undefined;
  status: string | undefined;
  satisfied: boolean;
  /** Already shown higher in the tree (a diamond) or on the path to it (a cycle). */
  repeated?: boolean;
  dependsOn: DependencyNode[];
}

export interface DependentNode {
  name: string;
  version: string;
  status: string;
  /** How it depends on the plugin: its range for the plugin, or the plugin it depends on through. */
  via: string;
  range: string | undefined;
}

export interface NpmDependency {
  name: string;
  range: string;
  installed: string | undefined;
  satisfied: boolean;
}

export interface DependencyAnalysis {
  plugin: string;
  version: string;
  dependsOn: DependencyNode[];
  /** Everything that is reloaded with it, in reload order (the plugin first). */
  reloadGroup: string[];
  dependents: DependentNode[];
  npm: NpmDependency[];
  /** Differences between the loaded dependsOn and the one on disk (the next reload's). */
  pending: string[];
  problems: string[];
}

export function analyzeDependencies(sup: Supervisor, name: string): DependencyAnalysis {
  const info = sup.info(name);
  const problems: string[] = [];
  const tree = (plugin: string, path: string[], seen: Set<string>): DependencyNode[] =>
    Object.entries(infoOf(sup, plugin)?.dependsOn ?? {}).map(([dep, range]) => {
      const loaded = infoOf(sup, dep);
      const satisfied = loaded !== undefined && semver.satisfies(loaded.version, range, { includePrerelease: true });
      if (!satisfied) problems.push(`${plugin} needs ${dep} ${range}: ${loaded === undefined ? 'not loaded' : `${loaded.version} loaded`}`);
      const repeated = path.includes(dep) || seen.has(dep);
      seen.add(dep);
      return {
        name: dep, range, loadedVersion: loaded?.version, status: loaded?.status, satisfied,
        ...(repeated ? { repeated: true } : {}),
        dependsOn: repeated || loaded === undefined ? [] : tree(dep, [...path, dep], seen),
      };
    });
  const dependents = sup.deps(name).dependents.map((d): DependentNode => {
    const di = sup.info(d);
    const direct = di.dependsOn[name];
    const via = direct !== undefined ? name : Object.keys(di.dependsOn).find((x) => sup.deps(name).dependents.includes(x)) ?? '?';
    return { name: d, version: di.version, status: di.status, via, range: direct };
  });

  let npm: NpmDependency[] = [];
  const pending: string[] = [];
  try {
    const disk = readManifest(info.path, { checkEngines: false });
    npm = Object.entries(disk.npmDependencies).map(([pkg, range]) => {
      const installed = installedVersion(disk.dir, pkg);
      return { name: pkg, range, installed, satisfied: installed !== undefined && (semver.validRange(range) === null || semver.satisfies(installed, range)) };
    });
    for (const p of npm) if (!p.satisfied) problems.push(`npm package ${p.name} ${p.range}: ${p.installed === undefined ? 'not installed' : `${p.installed} installed`}`);
    if (disk.version !== info.version) pending.push(`version ${info.version} → ${disk.version}`);
    const before = info.dependsOn;
    for (const [dep, range] of Object.entries(disk.dependsOn)) {
      if (before[dep] === undefined) pending.push(`adds dependsOn ${dep} ${range}`);
      else if (before[dep] !== range) pending.push(`changes dependsOn ${dep} ${before[dep]} → ${range}`);
    }
    for (const dep of Object.keys(before)) if (!(dep in disk.dependsOn)) pending.push(`drops dependsOn ${dep}`);
  } catch (err) {
    problems.push(`package.json on disk does not read: ${(err as Error).message}`);
  }
  return {
    plugin: name,
    version: info.version,
    dependsOn: tree(name, [name], new Set()),
    reloadGroup: [name, ...dependents.map((d) => d.name)],
    dependents,
    npm,
    pending,
    problems,
  };
}

function infoOf(sup: Supervisor, name: string): ReturnType<Supervisor['info']> | undefined {
  try {
    return sup.info(name);
  } catch {
    return undefined;
  }
}

/** The version of `pkg` that resolves from `dir` (node_modules, from the folder upward). */
function installedVersion(dir: string, pkg: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const file = join(d, 'node_modules', pkg, 'package.json');
    if (existsSync(file)) {
      try {
        return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
      } catch {
        return undefined;
      }
    }
    if (dirname(d) === d) return undefined;
  }
}
