/** The JSON Schema of a plugin's package.json, the `plugvisor` section closed to unknown keys. */
import { MAX_TIMER_MS } from '../timer-delay.js';

/** npm's rules for a package name (plugin name = package name), scoped names allowed. */
export const PACKAGE_NAME_PATTERN = '^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$';

export const manifestSchema = {
  type: 'object',
  required: ['name', 'version'],
  properties: {
    name: { type: 'string', pattern: PACKAGE_NAME_PATTERN },
    version: { type: 'string', minLength: 1 },
    main: { type: 'string', pattern: '\\.(ts|mts|js|mjs)$' },
    engines: { type: 'object', properties: { plugvisor: { type: 'string', minLength: 1 } } },
    dependencies: { type: 'object', additionalProperties: { type: 'string' } },
    plugvisor: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        dependsOn: { type: 'object', additionalProperties: { type: 'string', minLength: 1 }, default: {} },
        activation: { enum: ['eager', 'lazy'], default: 'eager' },
        stateTransfer: { enum: ['full', 'delta'], default: 'full' },
        config: { type: 'string', minLength: 1 },
        configSchema: { type: 'string', minLength: 1 },
        limits: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            callTimeoutMs: { type: 'integer', minimum: 1, maximum: MAX_TIMER_MS, default: 30000 },
            pingTimeoutMs: { type: 'integer', minimum: 1, maximum: MAX_TIMER_MS, default: 1000 },
            maxOldGenerationSizeMb: { type: 'number', exclusiveMinimum: 0 },
            maxYoungGenerationSizeMb: { type: 'number', exclusiveMinimum: 0 },
            stackSizeMb: { type: 'number', exclusiveMinimum: 0 },
          },
        },
        restart: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            maxRestarts: { type: 'integer', minimum: 0, default: 10 },
            windowSeconds: { type: 'number', exclusiveMinimum: 0, default: 60 },
            backoffInitialMs: { type: 'integer', minimum: 0, maximum: MAX_TIMER_MS, default: 100 },
            backoffMaxMs: { type: 'integer', minimum: 0, maximum: MAX_TIMER_MS, default: 10000 },
          },
        },
        pool: {
          type: 'object',
          additionalProperties: false,
          required: ['maxThreads'],
          properties: {
            maxThreads: { type: 'integer', minimum: 1 },
            minThreads: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
  },
} as const;
