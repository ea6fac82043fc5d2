/**
 * Can the host read every file a reload reads, and write where a reload writes? A reload reads the
 * plugin's folder (package.json, sources, config files) and writes the compile cache and, with
 * backups, the state folder.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Finding } from './finding.js';
import { pluginFiles } from './plugin-files.js';

export interface PermissionTargets {
  dir: string;
  /** Files outside the folder the plugin needs (config file, schema). */
  extraFiles: string[];
  cacheDir: string;
  stateDir?: string;
}

export function checkPermissions(t: PermissionTargets): Finding[] {
  const findings: Finding[] = [];
  const problem = (message: string, file: string): void => void findings.push({ check: 'permissions', level: 'problem', message, file });
  if (!can(t.dir, constants.R_OK | constants.X_OK)) problem(`the host cannot list the plugin folder ${t.dir}`, t.dir);
  const files = [...pluginFiles(t.dir), ...t.extraFiles];
  const unreadable = files.filter((f) => !can(f, constants.R_OK));
  for (const f of unreadable.slice(0, 20)) problem(`the host cannot read ${f}`, f);
  for (const [what, folder] of [['compile cache', t.cacheDir], ['state backups', t.stateDir]] as const) {
    if (folder === undefined) continue;
    const existing = nearestExisting(folder);
    if (!can(existing, constants.W_OK | constants.X_OK)) problem(`the host cannot write its ${what} folder ${existing}`, existing);
  }
  if (findings.length === 0) {
    findings.push({ check: 'permissions', level: 'ok', message: `${files.length} file${files.length === 1 ? '' : 's'} readable; compile cache${t.stateDir ? ' and state folder' : ''} writable` });
  }
  return findings;
}

function can(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}
