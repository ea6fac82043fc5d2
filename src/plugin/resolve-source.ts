/**
 * Where a plugin's folder is: a path (absolute, or relative to the project root), or an npm package
 * installed in node_modules (searched from the root upward), with an optional semver range.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import semver from 'semver';
import { PlugvisorError } from '../errors.js';
import { PACKAGE_NAME_PATTERN } from './manifest-schema.js';
import { parseManifestJson } from './manifest.js';
import { describeValue } from '../supervisor-options.js';

export type LoadSource = string | { path: string } | { fromPackage: string; version?: string };

export function resolvePluginDir(root: string, source: LoadSource): string {
  checkSource(source);
  if (typeof source === 'string' || 'path' in source) {
    const path = typeof source === 'string' ? source : source.path;
    const dir = isAbsolute(path) ? path : resolve(root, path);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new PlugvisorError('PLUGVISOR_MANIFEST_NOT_FOUND', `plugin folder ${dir} does not exist`, { file: dir });
    }
    return dir;
  }
  return resolvePackageDir(root, source.fromPackage, source.version);
}

function resolvePackageDir(root: string, name: string, range: string | undefined): string {
  if (range !== undefined && semver.validRange(range) === null) {
    throw new PlugvisorError('PLUGVISOR_PACKAGE_NOT_FOUND', `package "${name}": ${JSON.stringify(range)} is not a semver range`, { plugin: name });
  }
  const searched: string[] = [];
  for (let dir = resolve(root); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    searched.push(candidate);
    const manifest = join(candidate, 'package.json');
    if (existsSync(manifest)) {
      const found = (parseManifestJson(manifest, readFileSync(manifest, 'utf8')) as { version?: unknown } | null)?.version;
      const version = typeof found === 'string' ? found : undefined;
      if (range !== undefined && (version === undefined || !semver.satisfies(version, range))) {
        throw new PlugvisorError('PLUGVISOR_PACKAGE_NOT_FOUND',
          `package "${name}" is installed at ${candidate} in version ${version ?? '(none)'}, outside the range ${range}`, { plugin: name, file: manifest });
      }
      return candidate;
    }
    if (dirname(dir) === dir) break;
  }
  throw new PlugvisorError('PLUGVISOR_PACKAGE_NOT_FOUND',
    `package "${name}" is not installed (looked in ${searched.slice(0, 3).join(', ')}${searched.length > 3 ? ', …' : ''}); run npm install ${name}`, { plugin: name });
}

const PACKAGE_NAME = new RegExp(PACKAGE_NAME_PATTERN);
const SOURCE_FORMS = 'a plugin folder (a string, or { path }) or { fromPackage, version? }';

/** A source of the wrong shape: PLUGVISOR_BAD_ARGUMENTS saying what was given, not a TypeError from deeper down. */
function checkSource(source: unknown): asserts source is LoadSource {
  const bad = (why: string): never => {
    throw new PlugvisorError('PLUGVISOR_BAD_ARGUMENTS', `load() takes ${SOURCE_FORMS}: ${why}`);
  };
  if (typeof source === 'string') {
    if (source === '') bad('got an empty string');
    return;
  }
  if (source === null || typeof source !== 'object' || Array.isArray(source)) bad(`got ${describeValue(source)}`);
  const fields = source as Record<string, unknown>;
  const keys = Object.keys(fields);
  const form = 'path' in fields ? ['path'] : ['fromPackage', 'version'];
  const unknown = keys.filter((k) => !form.includes(k));
  if (unknown.length > 0) bad(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}`);
  const name = form[0]!;
  if (typeof fields[name] !== 'string' || fields[name] === '') bad(`${name} must be a non-empty string, got ${describeValue(fields[name])}`);
  if (name === 'fromPackage' && !PACKAGE_NAME.test(fields.fromPackage as string)) {
    bad(`${JSON.stringify(fields.fromPackage)} is not an npm package name (lowercase letters, digits, ".", "_", "-", "~", optionally @scope/name)`);
  }
  if (fields.version !== undefined && typeof fields.version !== 'string') bad(`version must be a semver range (a string), got ${describeValue(fields.version)}`);
}
