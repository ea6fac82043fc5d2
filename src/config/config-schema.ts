/**
 * The JSON Schema of config/hot-loading.yaml (contract section 6). Every object closes its keys:
 * an unknown key is an error naming its path, never silently ignored. Durations are in seconds.
 */
import { MAX_TIMER_MS } from '../timer-delay.js';
import { PACKAGE_NAME_PATTERN } from '../plugin/manifest-schema.js';

/** The longest duration in seconds a timer can wait (24.8 days): a longer one would fire at once. */
const MAX_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

export const hotLoadingSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean', default: true },
    development_mode: { type: 'boolean', default: false },
    log_level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    plugins: {
      type: 'array',
      default: [],
      // One closed object rather than a oneOf of the two forms: a oneOf's error ("must match exactly
      // one of the allowed forms") could not name the key at fault. Which keys go together, and the
      // version range, are checked after the schema (pluginEntryErrors in resolve-config.ts).
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { path: { type: 'string', minLength: 1 }, fromPackage: { type: 'string', pattern: PACKAGE_NAME_PATTERN }, version: { type: 'string', minLength: 1 } },
      },
    },
    watch: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: false },
        patterns: { type: 'array', items: { type: 'string' }, default: ['plugins/**/*.{ts,mts,js,mjs,json}', 'config/**/*.yaml', 'schemas/**/*.json'] },
        ignore: { type: 'array', items: { type: 'string' }, default: ['**/node_modules/**', '**/.*', '**/.*/**', '**/*.test.ts'] },
      },
    },
    reload: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        automatic: { type: 'boolean', default: true },
        validation: { type: 'boolean', default: true },
        backup_state: { type: 'boolean', default: false },
        checkpoint_interval: { type: 'number', minimum: 0, maximum: MAX_SECONDS, default: 30 },
        timeout: { type: 'number', exclusiveMinimum: 0, maximum: MAX_SECONDS, default: 30 },
        spare_worker: { type: 'boolean', default: true },
      },
    },
    development: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        debug_logging: { type: 'boolean', default: false },
        preserve_breakpoints: { type: 'boolean', default: false },
        auto_install_deps: { type: 'boolean', default: false },
        reload_on_import_error: { type: 'boolean', default: false },
      },
    },
    safety: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        validate_before_reload: { type: 'boolean', default: true },
        // A failed reload always leaves the old version serving: there is no mode that keeps a
        // half-activated new version, so `false` is refused rather than silently ignored.
        rollback_on_failure: {
          const: true,
          default: true,
          errorMessage: 'cannot be false: a failed reload always rolls back to the old version, which is still serving',
        },
        max_reload_attempts: { type: 'integer', minimum: 1, default: 3 },
        cooldown_period: { type: 'number', minimum: 0, maximum: MAX_SECONDS, default: 0.3 },
      },
    },
  },
} as const;

export const configFileSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { hot_loading: { ...hotLoadingSchema, default: {} } },
} as const;

export type PluginSource = { path: string } | { fromPackage: string; version?: string };

export interface ResolvedConfig {
  readonly root: string;
  /** The file the config came from, when it came from one. */
  readonly file?: string;
  readonly enabled: boolean;
  readonly developmentMode: boolean;
  readonly logLevel: string;
  readonly plugins: readonly PluginSource[];
  readonly watch: { readonly enabled: boolean; readonly patterns: readonly string[]; readonly ignore: readonly string[] };
  readonly reload: {
    readonly automatic: boolean;
    readonly validation: boolean;
    readonly backupState: boolean;
    /** Seconds between state checkpoints with backupState; 0: only at reloads and stop(). */
    readonly checkpointIntervalSeconds: number;
    readonly timeoutSeconds: number;
    /** Keep one plugin worker started ahead (src/runtime/spare-workers.ts). */
    readonly spareWorker: boolean;
  };
  readonly development: {
    readonly debugLogging: boolean;
    readonly preserveBreakpoints: boolean;
    readonly autoInstallDeps: boolean;
    readonly reloadOnImportError: boolean;
  };
  readonly safety: {
    readonly validateBeforeReload: boolean;
    readonly rollbackOnFailure: boolean;
    readonly maxReloadAttempts: number;
    readonly cooldownSeconds: number;
  };
}
