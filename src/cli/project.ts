/**
 * Where the project is, for commands that work on files (dev plugin …): the root of the host
 * found from the current folder, else the nearest folder upward with config/hot-loading.yaml, else
 * the current folder. And which folder a plugin NAME means there.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ControlClient } from '../control/control-client.js';
import { findHost } from '../control/socket-path.js';
import { PlugvisorError } from '../errors.js';

export function findProjectRoot(cwd = process.cwd()): string {
  const host = findHost(cwd);
  if (host !== undefined) return host.root;
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'config', 'hot-loading.yaml'))) return dir;
    if (dirname(dir) === dir) return resolve(cwd);
  }
}

/**
 * The folder of plugin NAME: a path to a plugin folder as given, the folder the running host
 * loaded it from, or plugins/NAME under the project root.
 */
export async function resolvePluginFolder(name: string, root: string, host: ControlClient | undefined): Promise<string> {
  const asPath = resolve(name);
  if ((name.includes('/') && !name.startsWith('@')) || name.startsWith('.')) {
    if (isPluginDir(asPath)) return asPath;
  }
  if (host !== undefined) {
    const loaded = await host.request('info', { name }).catch(() => undefined);
    if (loaded !== undefined) return loaded.path;
  }
  const inPlugins = join(root, 'plugins', name.replace(/^@[^/]+\//, ''));
  if (isPluginDir(inPlugins)) return inPlugins;
  if (isPluginDir(asPath)) return asPath;
  throw new PlugvisorError('PLUGVISOR_MANIFEST_NOT_FOUND',
    `no plugin folder for "${name}": not loaded by a running host, and ${inPlugins} has no package.json`, { file: inPlugins });
}

function isPluginDir(dir: string): boolean {
  return existsSync(join(dir, 'package.json')) && statSync(dir).isDirectory();
}
