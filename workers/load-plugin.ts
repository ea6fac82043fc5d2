/**
 * Imports a compiled plugin module and checks its shape: a default export with a `commands` object
 * of functions, and optional lifecycle hooks that are functions when present.
 */
import type { PluginShape } from '../src/protocol/messages.js';
import type { PluginDefinition } from '../src/protocol/plugin-definition.js';

const HOOKS = ['state', 'migrate', 'setup', 'health', 'connect', 'dispose', 'configChanged'] as const;

export class PluginShapeError extends Error {
  readonly code = 'PLUGVISOR_PLUGIN_INVALID';
}

export async function loadPlugin(moduleUrl: string, entryFile: string): Promise<PluginDefinition> {
  let mod: { default?: unknown };
  try {
    mod = await import(moduleUrl);
  } catch (err) {
    throw Object.assign(new Error(`${entryFile}: importing the plugin failed: ${(err as Error)?.message ?? String(err)}`, { cause: err }), {
      code: 'PLUGVISOR_PLUGIN_LOAD_FAILED',
      file: entryFile,
      stack: (err as Error)?.stack,
    });
  }
  return checkShape(esModuleDefault(mod.default), entryFile);
}

/**
 * A CommonJS entry compiled from ESM by tsc or Babel sets `exports.default = plugin` and
 * `exports.__esModule = true`; its bundle's default export is that whole `exports` object. Bundlers
 * take `.default` of such a module, and so does plugvisor.
 */
function esModuleDefault(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const exports = value as { __esModule?: unknown; default?: unknown };
  return exports.__esModule === true && exports.default !== undefined ? exports.default : value;
}

export function checkShape(value: unknown, entryFile: string): PluginDefinition {
  const fail = (reason: string): never => {
    throw Object.assign(new PluginShapeError(`${entryFile}: ${reason}`), { file: entryFile });
  };
  if (value === undefined) fail('the module has no default export (export default definePlugin({ commands: { … } }))');
  if (value === null || typeof value !== 'object') fail(`the default export must be an object, got ${value === null ? 'null' : typeof value}`);
  const def = value as Record<string, unknown>;
  const commands = def['commands'];
  if (commands === undefined) fail(`the default export has no "commands"${cjsDefaultHint(def)}`);
  if (commands === null || typeof commands !== 'object' || Array.isArray(commands)) fail('"commands" must be an object of functions');
  // A class instance's methods are on its prototype, where the commands are not looked for: it would
  // load with none. A module namespace (`import * as commands`) has a null prototype and is fine.
  const proto = Object.getPrototypeOf(commands) as { constructor?: { name?: string } } | null;
  if (proto !== null && proto !== Object.prototype) {
    fail(`"commands" must be a plain object of functions, not an instance of ${proto.constructor?.name || 'a class'} (its methods are on the prototype)`);
  }
  for (const [name, fn] of Object.entries(commands as object)) {
    if (typeof fn !== 'function') fail(`command "${name}" must be a function, got ${typeof fn}`);
  }
  for (const hook of HOOKS) {
    if (def[hook] !== undefined && typeof def[hook] !== 'function') fail(`"${hook}" must be a function, got ${typeof def[hook]}`);
  }
  return def as unknown as PluginDefinition;
}

/**
 * A hand-written CommonJS module that sets `exports.default` without `__esModule` has its whole
 * `exports` as the default export, as under Node: name the two ways out rather than guess.
 */
function cjsDefaultHint(def: Record<string, unknown>): string {
  const inner = def['default'] as { commands?: unknown } | null | undefined;
  if (inner === null || typeof inner !== 'object' || inner.commands === undefined) return '';
  return ' but its "default" has them: a CommonJS module that sets exports.default must also set exports.__esModule = true (as tsc and Babel do), or export the plugin itself with module.exports = { commands: { … } }';
}

export function shapeOf(def: PluginDefinition): PluginShape {
  return {
    commands: Object.keys(def.commands),
    hasState: def.state !== undefined,
    hasMigrate: def.migrate !== undefined,
    hasHealth: def.health !== undefined,
    hasConnect: def.connect !== undefined,
    hasDispose: def.dispose !== undefined,
    hasConfigChanged: def.configChanged !== undefined,
  };
}
