/**
 * User options → defaults → validation (messages naming the key path) → a frozen ResolvedConfig.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import { PlugvisorError } from '../errors.js';
import { configFileSchema, type PluginSource, type ResolvedConfig } from './config-schema.js';
import { compileSchema, describeSchemaErrors } from './schema-validator.js';

const validateConfigFile = compileSchema(configFileSchema);

/** The `config` option: a path (relative to root), a config object (partial), or nothing. */
export type ConfigInput = string | Record<string, unknown> | undefined;

export function resolveConfig(root: string, input: ConfigInput): ResolvedConfig {
  const absRoot = resolve(root);
  if (typeof input === 'string') {
    const file = isAbsolute(input) ? input : resolve(absRoot, input);
    return resolveConfigObject(absRoot, readConfigFile(file), file);
  }
  return resolveConfigObject(absRoot, input ?? {}, undefined);
}

export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PlugvisorError('PLUGVISOR_CONFIG_NOT_FOUND', `config file ${file} does not exist`, { file });
    throw new PlugvisorError('PLUGVISOR_CONFIG_INVALID', `config file ${file} cannot be read: ${(err as Error).message}`, { file, cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    // The parser's first line names the fault and its line and column; its code frame stays in `cause`.
    const reason = (err as Error).message.split('\n')[0]!.replace(/:$/, '');
    throw new PlugvisorError('PLUGVISOR_CONFIG_INVALID', `config file ${file} is not valid YAML: ${reason}`, { file, cause: err });
  }
  return withEmptySections(doc);
}

/** The file's sections that hold mappings (or, for plugins, a list). */
const SECTIONS: Record<string, () => unknown> = {
  plugins: () => [],
  watch: () => ({}),
  reload: () => ({}),
  development: () => ({}),
  safety: () => ({}),
};

/**
 * A section whose keys are all commented out is YAML null: in a settings file that means "none of
 * these set", so it takes the defaults, as a missing section does. Anything else of a wrong type
 * is still the schema's error.
 */
function withEmptySections(doc: unknown): unknown {
  if (doc === null || typeof doc !== 'object' || !('hot_loading' in doc)) return doc;
  const file = doc as { hot_loading: unknown };
  if (file.hot_loading === null) file.hot_loading = {};
  const h = file.hot_loading;
  if (h === null || typeof h !== 'object' || Array.isArray(h)) return doc;
  for (const [key, empty] of Object.entries(SECTIONS)) {
    if ((h as Record<string, unknown>)[key] === null) (h as Record<string, unknown>)[key] = empty();
  }
  return doc;
}

/**
 * Accepts the file's shape ({ hot_loading: {...} }) or, for a config object, the body of
 * hot_loading directly.
 */
export function resolveConfigObject(root: string, raw: unknown, file: string | undefined): ResolvedConfig {
  const where = file ?? 'config object';
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new PlugvisorError('PLUGVISOR_CONFIG_INVALID', `${where}: the configuration must be a mapping with a "hot_loading" key`, { file });
  }
  const body = file === undefined && !('hot_loading' in raw) ? { hot_loading: raw } : raw;
  const wrapped = plainCopy(body, '', where, file) as { hot_loading: Record<string, any> };
  if (!validateConfigFile(wrapped)) {
    throw new PlugvisorError('PLUGVISOR_CONFIG_INVALID', `${where}: ${describeSchemaErrors(validateConfigFile.errors)}`, { file });
  }
  const h = wrapped.hot_loading;
  const entryErrors = pluginEntryErrors(h.plugins as Array<Partial<Record<'path' | 'fromPackage' | 'version', string>>>);
  if (entryErrors.length > 0) throw new PlugvisorError('PLUGVISOR_CONFIG_INVALID', `${where}: ${entryErrors.join('; ')}`, { file });
  // Development mode means debug logs, unless a log level was asked for explicitly.
  const explicitLevel = typeof (raw as { hot_loading?: unknown }).hot_loading === 'object'
    ? 'log_level' in ((raw as { hot_loading: object }).hot_loading ?? {})
    : 'log_level' in raw;
  const config: ResolvedConfig = {
    root,
    file,
    enabled: h.enabled,
    developmentMode: h.development_mode,
    logLevel: !explicitLevel && (h.development_mode || h.development.debug_logging) ? 'debug' : h.log_level,
    plugins: (h.plugins as PluginSource[]).map((p) => Object.freeze({ ...p })),
    watch: { enabled: h.watch.enabled, patterns: h.watch.patterns, ignore: h.watch.ignore },
    reload: {
      automatic: h.reload.automatic,
      validation: h.reload.validation,
      backupState: h.reload.backup_state,
      checkpointIntervalSeconds: h.reload.checkpoint_interval,
      spareWorker: h.reload.spare_worker,
      timeoutSeconds: h.reload.timeout,
    },
    development: {
      debugLogging: h.development.debug_logging,
      preserveBreakpoints: h.development.preserve_breakpoints,
      autoInstallDeps: h.development.auto_install_deps,
      reloadOnImportError: h.development.reload_on_import_error,
    },
    safety: {
      validateBeforeReload: h.safety.validate_before_reload,
      rollbackOnFailure: h.safety.rollback_on_failure,
      maxReloadAttempts: h.safety.max_reload_attempts,
      cooldownSeconds: h.safety.cooldown_period,
    },
  };
  return deepFreeze(config);
}

/**
 * A copy for ajv to fill with defaults, of data only: a function, a symbol, a Map or another class
 * instance in a config object is refused naming its key path (structuredClone threw a DataCloneError
 * without a code for the first two, and a Map passed as an empty object).
 */
function plainCopy(value: unknown, path: string, where: string, file: string | undefined, ancestors: object[] = []): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol' && typeof value !== 'bigint')) return value;
  const proto = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  const plain = Array.isArray(value) || proto === Object.prototype || proto === null;
  if (!plain || ancestors.includes(value as object)) {
    const what = ancestors.includes(value as object) ? 'a reference to an enclosing object' : describe(value);
    throw new PlugvisorError('PLUGVISOR_CONFIG_INVALID', `${where}: ${path || '(root)'} must be plain data (a string, number, boolean, array or object), not ${what}`, { file });
  }
  const inner = [...ancestors, value as object];
  if (Array.isArray(value)) return value.map((v, i) => plainCopy(v, `${path}[${i}]`, where, file, inner));
  return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, plainCopy(v, path ? `${path}.${k}` : k, where, file, inner)]));
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'bigint') return 'a bigint';
  return `a ${(value as object).constructor?.name ?? 'class instance'}`;
}

/** Each hot_loading.plugins entry is `{ path }` or `{ fromPackage, version? }` with a semver range. */
function pluginEntryErrors(entries: Array<Partial<Record<'path' | 'fromPackage' | 'version', string>>>): string[] {
  const errors: string[] = [];
  entries.forEach((entry, i) => {
    const at = `hot_loading.plugins[${i}]`;
    if (entry.path !== undefined && entry.fromPackage !== undefined) errors.push(`${at} has both "path" and "fromPackage": give one`);
    else if (entry.path === undefined && entry.fromPackage === undefined) errors.push(`${at} needs "path" (a plugin folder) or "fromPackage" (an installed package)`);
    if (entry.version === undefined) return;
    if (entry.fromPackage === undefined) errors.push(`${at}.version goes with "fromPackage" only`);
    else if (semver.validRange(entry.version) === null) errors.push(`${at}.version ${JSON.stringify(entry.version)} is not a semver range`);
  });
  return errors;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
