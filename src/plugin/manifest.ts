/**
 * Reads a plugin folder's package.json and resolves it into a frozen PluginManifest: the schema
 * checked (ajv), semver and engines checked, every path made absolute.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import semver from 'semver';
import { PlugvisorError } from '../errors.js';
import { compileSchema, describeSchemaErrors } from '../config/schema-validator.js';
import { PLUGVISOR_VERSION } from '../version.js';
import { manifestSchema } from './manifest-schema.js';

const validateManifest = compileSchema(manifestSchema);
const DEFAULT_ENTRIES = ['index.ts', 'index.mts', 'index.js', 'index.mjs'];

export interface PluginManifest {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  readonly manifestFile: string;
  readonly entryFile: string;
  readonly enginesRange?: string;
  /** The plugin's own npm dependencies (package.json "dependencies"). */
  readonly npmDependencies: Readonly<Record<string, string>>;
  readonly dependsOn: Readonly<Record<string, string>>;
  readonly activation: 'eager' | 'lazy';
  /** How a reload moves the state: all of it inside the pause, or a pre-copy plus the changes. */
  readonly stateTransfer: 'full' | 'delta';
  readonly configFile?: string;
  readonly configSchemaFile?: string;
  readonly limits: {
    readonly callTimeoutMs: number;
    readonly pingTimeoutMs: number;
    readonly maxOldGenerationSizeMb?: number;
    readonly maxYoungGenerationSizeMb?: number;
    readonly stackSizeMb?: number;
  };
  readonly restart: { readonly maxRestarts: number; readonly windowSeconds: number; readonly backoffInitialMs: number; readonly backoffMaxMs: number };
  readonly pool?: { readonly maxThreads: number; readonly minThreads?: number };
}

/** A package.json's text as JSON, or PLUGVISOR_MANIFEST_INVALID naming the file. */
export function parseManifestJson(manifestFile: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PlugvisorError('PLUGVISOR_MANIFEST_INVALID', `${manifestFile} is not valid JSON: ${(err as Error).message}`, { file: manifestFile, cause: err });
  }
}

/**
 * The files that may be a plugin folder's entry whatever state its package.json is in: its `main`
 * when it names one, otherwise the default entries (for a plugin that does not load yet, to retry
 * once one of them is written).
 */
export function entryCandidates(dir: string): string[] {
  try {
    const main: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))?.main;
    if (typeof main === 'string') return [resolve(dir, main)];
  } catch {
    // No package.json yet, or not valid JSON: any default entry may come.
  }
  return DEFAULT_ENTRIES.map((f) => join(dir, f));
}

export function readManifest(dir: string, { checkEngines = true }: { checkEngines?: boolean } = {}): PluginManifest {
  const manifestFile = join(dir, 'package.json');
  let text: string;
  try {
    text = readFileSync(manifestFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PlugvisorError('PLUGVISOR_MANIFEST_NOT_FOUND', `${manifestFile} does not exist: a plugin folder needs a package.json`, { file: manifestFile });
    }
    throw new PlugvisorError('PLUGVISOR_MANIFEST_INVALID', `${manifestFile} cannot be read: ${(err as Error).message}`, { file: manifestFile, cause: err });
  }
  let raw: any = parseManifestJson(manifestFile, text);
  const invalid = (reason: string): PlugvisorError =>
    new PlugvisorError('PLUGVISOR_MANIFEST_INVALID', `${manifestFile}: ${reason}`, { file: manifestFile, plugin: typeof raw?.name === 'string' ? raw.name : undefined });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('must contain a JSON object');
  if (!validateManifest(raw)) throw invalid(describeSchemaErrors(validateManifest.errors));
  raw = raw as any; // checked by the schema above
  if (semver.valid(raw.version) === null) throw invalid(`version ${JSON.stringify(raw.version)} is not a semver version`);
  const pv = raw.plugvisor;
  for (const [dep, range] of Object.entries(pv.dependsOn as Record<string, string>)) {
    if (semver.validRange(range) === null) throw invalid(`plugvisor.dependsOn.${dep}: ${JSON.stringify(range)} is not a semver range`);
  }
  const enginesRange: string | undefined = raw.engines?.plugvisor;
  if (enginesRange !== undefined) {
    if (semver.validRange(enginesRange) === null) throw invalid(`engines.plugvisor: ${JSON.stringify(enginesRange)} is not a semver range`);
    if (checkEngines && !semver.satisfies(PLUGVISOR_VERSION, enginesRange, { includePrerelease: true })) {
      throw new PlugvisorError('PLUGVISOR_ENGINE_INCOMPATIBLE',
        `${manifestFile}: engines.plugvisor ${enginesRange} does not include this plugvisor (${PLUGVISOR_VERSION})`,
        { file: manifestFile, plugin: raw.name });
    }
  }
  if (pv.pool !== undefined && pv.pool.minThreads !== undefined && pv.pool.minThreads > pv.pool.maxThreads) {
    throw invalid('plugvisor.pool.minThreads must not exceed maxThreads');
  }
  if (pv.pool !== undefined && Object.keys(pv.dependsOn).length > 0) {
    throw invalid(`plugvisor.dependsOn: a pooled plugin (plugvisor.pool) cannot depend on other plugins (${Object.keys(pv.dependsOn).join(', ')}); ` +
      'remove "pool" to run it in a worker of its own');
  }
  const entryFile = raw.main !== undefined ? resolve(dir, raw.main) : DEFAULT_ENTRIES.map((f) => join(dir, f)).find((f) => existsSync(f));
  if (entryFile === undefined) throw invalid(`no "main" and none of ${DEFAULT_ENTRIES.join(', ')} exists`);
  if (!existsSync(entryFile)) throw invalid(`main: ${entryFile} does not exist`);

  return Object.freeze({
    name: raw.name,
    version: raw.version,
    dir,
    manifestFile,
    entryFile,
    enginesRange,
    npmDependencies: Object.freeze({ ...(raw.dependencies ?? {}) }),
    dependsOn: Object.freeze({ ...pv.dependsOn }),
    activation: pv.activation,
    stateTransfer: pv.stateTransfer,
    configFile: pv.config === undefined ? undefined : resolve(dir, pv.config),
    configSchemaFile: pv.configSchema === undefined ? undefined : resolve(dir, pv.configSchema),
    limits: Object.freeze({ ...pv.limits }),
    restart: Object.freeze({ ...pv.restart }),
    pool: pv.pool === undefined ? undefined : Object.freeze({ ...pv.pool }),
  });
}
