/**
 * The Supervisor constructor's options, checked before anything else reads them: a wrong type, an
 * unknown key or a root that is not a folder is PLUGVISOR_CONFIG_INVALID naming the option, as a
 * wrong key in the config is.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { PlugvisorError } from './errors.js';

const OPTION_KEYS = ['root', 'config', 'logger'];
const LOGGER_METHODS = ['child', 'debug', 'info', 'warn', 'error'];

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

function invalid(message: string): PlugvisorError {
  return new PlugvisorError('PLUGVISOR_CONFIG_INVALID', `Supervisor options: ${message}`);
}

export function checkSupervisorOptions(options: unknown): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid(`must be an object ({ root, config, logger }), got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw invalid(`"${key}" is not an option (options: ${OPTION_KEYS.join(', ')})`);
  }
  const { root, logger } = options as Record<string, unknown>;
  if (root !== undefined) {
    if (typeof root !== 'string' || root === '') throw invalid(`root must be a folder path (a non-empty string), got ${describeValue(root)}`);
    if (!statSync(resolve(root), { throwIfNoEntry: false })?.isDirectory()) throw invalid(`root ${resolve(root)} is not a folder`);
  }
  if (logger !== undefined) {
    const methods = logger !== null && typeof logger === 'object' ? logger as Record<string, unknown> : {};
    if (!LOGGER_METHODS.every((m) => typeof methods[m] === 'function')) {
      throw invalid(`logger must be a pino logger (with ${LOGGER_METHODS.join(', ')}), got ${describeValue(logger)}`);
    }
  }
}

const RELOAD_OPTION_KEYS = ['force', 'backupState'];

/** reload()'s options: an object of booleans, or nothing; anything else is misuse (PLUGVISOR_BAD_ARGUMENTS). */
export function checkReloadOptions(options: unknown): void {
  if (options === undefined) return;
  const bad = (why: string): never => {
    throw new PlugvisorError('PLUGVISOR_BAD_ARGUMENTS', `reload options must be { force?: boolean, backupState?: boolean }: ${why}`);
  };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) bad(`got ${describeValue(options)}`);
  for (const [key, value] of Object.entries(options as object)) {
    if (!RELOAD_OPTION_KEYS.includes(key)) bad(`"${key}" is not an option`);
    if (value !== undefined && typeof value !== 'boolean') bad(`${key} must be boolean, got ${describeValue(value)}`);
  }
}
