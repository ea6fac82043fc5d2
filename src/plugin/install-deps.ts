/**
 * development.auto_install_deps: a plugin whose own package.json lists npm dependencies that are
 * not installed gets `npm install` run in its folder before it is compiled, the output logged.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { PlugvisorError } from '../errors.js';
import type { PluginManifest } from './manifest.js';

export function missingDependencies(manifest: PluginManifest): string[] {
  const require = createRequire(manifest.manifestFile);
  return Object.keys(manifest.npmDependencies).filter((dep) => {
    if (existsSync(join(manifest.dir, 'node_modules', dep, 'package.json'))) return false;
    try {
      require.resolve(`${dep}/package.json`);
      return false;
    } catch {
      return true;
    }
  });
}

export async function installMissingDependencies(manifest: PluginManifest, log: Logger): Promise<string[]> {
  const missing = missingDependencies(manifest);
  if (missing.length === 0) return [];
  log.info({ plugin: manifest.name, dir: manifest.dir, missing }, 'installing missing plugin dependencies (npm install)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(npm, ['install', '--no-audit', '--no-fund', '--omit=dev'], { cwd: manifest.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        output.push(line);
        log.info({ plugin: manifest.name, npm: line }, 'npm install');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('close', resolve);
  }).catch((err: Error) => {
    throw new PlugvisorError('PLUGVISOR_DEPENDENCY_INSTALL_FAILED', `plugin "${manifest.name}": npm install could not run in ${manifest.dir}: ${err.message}`,
      { plugin: manifest.name, file: manifest.manifestFile, cause: err });
  });
  if (code !== 0) {
    throw new PlugvisorError('PLUGVISOR_DEPENDENCY_INSTALL_FAILED',
      `plugin "${manifest.name}": npm install in ${manifest.dir} exited with ${code}: ${output.slice(-3).join(' | ')}`,
      { plugin: manifest.name, file: manifest.manifestFile, missing });
  }
  return missing;
}
