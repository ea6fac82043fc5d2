/**
 * `plugvisor plugins debug NAME`: why will this plugin not reload? Each check looks at what the
 * next reload would read (the files on disk now) and at the running version:
 *
 *   status        the running version: failed, restarting, a reload in progress
 *   permissions   the host can read the plugin's files and write its cache (check-permissions.ts)
 *   syntax        the reload's own validation, up to importing the module in a scratch worker
 *   locks         writers, editors and plugvisor temp files (check-locks.ts)
 *   dependencies  dependsOn on disk against the loaded versions, npm packages installed, engines
 *   state         the running state serialises with node:v8 (asked from the worker), migrate()
 */
import { join } from 'node:path';
import semver from 'semver';
import { missingDependencies } from '../plugin/install-deps.js';
import { readManifest, type PluginManifest } from '../plugin/manifest.js';
import { validatePlugin, type ValidationReport } from '../plugin/validate-plugin.js';
import type { Supervisor } from '../supervisor.js';
import { PLUGVISOR_VERSION } from '../version.js';
import { checkLocks } from './check-locks.js';
import { checkPermissions } from './check-permissions.js';
import type { DiagnosisCheck, Finding } from './finding.js';

export type { DiagnosisCheck, Finding } from './finding.js';

export const ALL_CHECKS: readonly DiagnosisCheck[] = ['status', 'permissions', 'syntax', 'locks', 'dependencies', 'state'];

export interface Diagnosis {
  plugin: string;
  version: string;
  /** The version on disk, which the next reload would load (when its package.json reads). */
  nextVersion: string | undefined;
  status: string;
  dir: string;
  checks: DiagnosisCheck[];
  findings: Finding[];
  problems: number;
  warnings: number;
  /** No problem found: a reload should go through (warnings may still matter). */
  reloadable: boolean;
}

export async function diagnosePlugin(sup: Supervisor, name: string, checks: readonly DiagnosisCheck[] = ALL_CHECKS): Promise<Diagnosis> {
  const info = sup.info(name);
  const wanted = new Set(checks.length === 0 ? ALL_CHECKS : checks);
  const cacheDir = join(sup.root, '.plugvisor', 'cache');
  const stateDir = join(sup.root, '.plugvisor', 'state');
  const findings: Finding[] = [];
  let manifest: PluginManifest | undefined;
  try {
    manifest = readManifest(info.path, { checkEngines: false });
  } catch {
    // reported by the syntax check, which reads it again through the validation
  }

  if (wanted.has('status')) findings.push(...statusFindings(info));
  if (wanted.has('permissions')) {
    findings.push(...checkPermissions({
      dir: info.path,
      extraFiles: [manifest?.configFile, manifest?.configSchemaFile].filter((f): f is string => f !== undefined),
      cacheDir,
      stateDir: sup.config.reload.backupState ? stateDir : undefined,
    }));
  }
  let validation: ValidationReport | undefined;
  if (wanted.has('syntax') || wanted.has('state')) {
    // Dependencies are the dependencies check's: the validation goes on to import the module.
    validation = await validatePlugin(info.path, { cacheDir, skipActivation: true });
  }
  if (wanted.has('syntax')) findings.push(...syntaxFindings(validation!));
  if (wanted.has('locks')) findings.push(...checkLocks({ dir: info.path, writeDirs: [cacheDir, stateDir], ignorePids: [process.pid] }));
  if (wanted.has('dependencies')) findings.push(...dependencyFindings(sup, name, manifest));
  if (wanted.has('state')) findings.push(...await stateFindings(sup, name, info.pooled, validation!));

  const problems = findings.filter((f) => f.level === 'problem').length;
  return {
    plugin: name,
    version: info.version,
    nextVersion: manifest?.version,
    status: info.status,
    dir: info.path,
    checks: [...wanted],
    findings,
    problems,
    warnings: findings.filter((f) => f.level === 'warn').length,
    reloadable: problems === 0,
  };
}

function statusFindings(info: ReturnType<Supervisor['info']>): Finding[] {
  switch (info.status) {
    case 'reloading':
      return [{ check: 'status', level: 'warn', message: 'a reload of this plugin is in progress right now: the next one waits for it' }];
    case 'failed':
      return [{ check: 'status', level: 'warn', message: `the plugin has failed (${info.error ?? 'too many restarts'}); a reload that succeeds starts it again` }];
    case 'restarting':
      return [{ check: 'status', level: 'info', message: 'the plugin is restarting after a crash; a reload swaps in the new code for the next start' }];
    case 'registered':
      return [{ check: 'status', level: 'info', message: 'the plugin has not started (lazy): a reload only replaces its code' }];
    default:
      return [{ check: 'status', level: 'ok', message: `${info.status}, generation ${info.generation}, ${info.reloadCount} reload${info.reloadCount === 1 ? '' : 's'}` }];
  }
}

function syntaxFindings(v: ValidationReport): Finding[] {
  if (v.error !== undefined) {
    return [{ check: 'syntax', level: 'problem', code: v.error.code, message: `${v.error.step}: ${v.error.message}`, file: (v.error as { file?: string }).file }];
  }
  const load = v.steps.find((s) => s.step === 'load');
  return [{ check: 'syntax', level: 'ok', message: `package.json, compile and import pass${load?.detail ? ` (${load.detail})` : ''}` }];
}

function dependencyFindings(sup: Supervisor, name: string, manifest: PluginManifest | undefined): Finding[] {
  const findings: Finding[] = [];
  if (manifest === undefined) {
    return [{ check: 'dependencies', level: 'warn', message: 'package.json does not read: dependencies not checked (see the syntax check)' }];
  }
  for (const [dep, range] of Object.entries(manifest.dependsOn)) {
    const loaded = tryInfo(sup, dep);
    if (loaded === undefined) {
      findings.push({ check: 'dependencies', level: 'problem', code: 'PLUGVISOR_DEPENDENCY_MISSING', message: `needs plugin "${dep}" ${range}, which is not loaded`, file: manifest.manifestFile });
    } else if (!semver.satisfies(loaded.version, range, { includePrerelease: true })) {
      findings.push({ check: 'dependencies', level: 'problem', code: 'PLUGVISOR_DEPENDENCY_MISSING', message: `needs plugin "${dep}" ${range}, but ${loaded.version} is loaded`, file: manifest.manifestFile });
    } else {
      findings.push({ check: 'dependencies', level: 'ok', message: `plugin "${dep}" ${range}: ${loaded.version} loaded (${loaded.status})` });
    }
  }
  const missing = missingDependencies(manifest);
  for (const pkg of missing) {
    findings.push({ check: 'dependencies', level: 'problem', code: 'PLUGVISOR_COMPILE_FAILED',
      message: `npm package "${pkg}" (${manifest.npmDependencies[pkg]}) is not installed: run npm install in ${manifest.dir}`, file: manifest.manifestFile });
  }
  if (manifest.enginesRange !== undefined && !semver.satisfies(PLUGVISOR_VERSION, manifest.enginesRange, { includePrerelease: true })) {
    findings.push({ check: 'dependencies', level: 'problem', code: 'PLUGVISOR_ENGINE_INCOMPATIBLE',
      message: `engines.plugvisor ${manifest.enginesRange} does not include this plugvisor (${PLUGVISOR_VERSION}); reload --force skips this check`, file: manifest.manifestFile });
  }
  const dependents = sup.deps(name).dependents;
  if (dependents.length > 0) findings.push({ check: 'dependencies', level: 'info', message: `a reload also reloads its dependents: ${dependents.join(', ')}` });
  if (!findings.some((f) => f.level === 'problem' || f.level === 'ok')) {
    findings.push({ check: 'dependencies', level: 'ok', message: `no plugin dependencies${Object.keys(manifest.npmDependencies).length > 0 ? '; npm packages installed' : ''}` });
  }
  return findings;
}

async function stateFindings(sup: Supervisor, name: string, pooled: boolean, v: ValidationReport): Promise<Finding[]> {
  if (pooled) return [{ check: 'state', level: 'ok', message: 'pooled: no state is carried across a reload' }];
  const findings: Finding[] = [];
  try {
    const bytes = await sup.stateSnapshot(name);
    findings.push(bytes === undefined
      ? { check: 'state', level: 'info', message: 'no running worker to ask for its state (not started, or restarting)' }
      : { check: 'state', level: 'ok', message: `the running state serialises with node:v8 (${bytes.byteLength} bytes)` });
  } catch (err) {
    const e = err as Error & { code?: string };
    findings.push({ check: 'state', level: 'problem', code: e.code, message: `${e.message}; keep only data in ctx.state (no functions, class instances with private fields, handles)` });
  }
  const running = sup.info(name);
  const next = v.version;
  if (next !== undefined && next !== running.version && v.shape !== undefined && !v.shape.hasMigrate) {
    findings.push({ check: 'state', level: 'info', message: `the next version (${next}) has no migrate(): it gets ${running.version}'s state as it is` });
  }
  if (v.shape !== undefined && !v.shape.hasState) findings.push({ check: 'state', level: 'info', message: 'the next version has no state() hook: a fresh start (after a crash, without backups) begins with {}' });
  return findings;
}

function tryInfo(sup: Supervisor, name: string): ReturnType<Supervisor['info']> | undefined {
  try {
    return sup.info(name);
  } catch {
    return undefined;
  }
}
