/**
 * The task function of a pooled (stateless) plugin's piscina threads.
 *
 * Each thread imports the plugin once, as soon as piscina boots the thread, and activates it with a
 * scratch state of its own (`state()`, then `setup()`): nothing is shared between threads or
 * preserved across calls. Errors are returned as values so that `code` and own fields survive
 * (piscina would clone a thrown error and lose them), and a result that cannot be cloned back is
 * turned into an error here rather than killing the thread when piscina posts it.
 */
import { workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { PluginContext, PluginDefinition } from '../src/protocol/plugin-definition.js';
import type { PoolResult, PoolTask, PoolWorkerData } from '../src/protocol/pool.js';
import { toWireError, withStep, type WireError } from '../src/protocol/wire-error.js';
import { loadPlugin, shapeOf } from './load-plugin.js';

const data = workerData as PoolWorkerData;
process.setSourceMapsEnabled(true);

interface Loaded {
  definition: PluginDefinition;
  ctx: PluginContext;
}

/** Tags an error with the activation step that threw, so the host can report it. */
async function atStep<T>(step: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw withStep(err, step);
  }
}

async function init(): Promise<Loaded> {
  const definition = await loadPlugin(data.moduleUrl, data.entryFile);
  const ctx: PluginContext = {
    name: data.plugin,
    version: data.version,
    // Scratch state, per thread: never carried to another call's thread nor across restarts.
    state: definition.state === undefined ? {} : await atStep('state', () => definition.state!()),
    config: data.config,
    log: pino({ name: data.plugin, level: data.logLevel }),
    plugins: {},
  };
  await atStep('setup', () => definition.setup?.(ctx));
  return { definition, ctx };
}

// Start loading as soon as piscina imports this module (it parks idle threads in Atomics.wait, so the
// import may only finish during the first task); a failure is reported by every task this thread runs.
const ready = init();
ready.catch(() => undefined);

export default async function runTask(task: PoolTask): Promise<PoolResult> {
  let loaded: Loaded;
  try {
    loaded = await ready;
  } catch (err) {
    return { ok: false, e: withCode(toWireError(err), 'PLUGVISOR_PLUGIN_LOAD_FAILED'), loadFailed: true };
  }
  if ('probe' in task) return { ok: true, v: shapeOf(loaded.definition) };
  const commands = loaded.definition.commands;
  const command = Object.hasOwn(commands, task.c) ? commands[task.c] : undefined;
  if (typeof command !== 'function') {
    return { ok: false, e: withCode(toWireError(new Error(`plugin "${data.plugin}" has no command "${task.c}"`)), 'PLUGVISOR_COMMAND_NOT_FOUND') };
  }
  let value: unknown;
  try {
    value = await command.call(commands, loaded.ctx, ...task.a);
  } catch (err) {
    return { ok: false, e: toWireError(err) };
  }
  return cloneable(value);
}

/**
 * Primitives always clone. An object result is cloned once here to find out: piscina posts the result
 * itself, and a clone failure there would kill the thread instead of failing the call.
 */
function cloneable(value: unknown): PoolResult {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) return { ok: true, v: value };
  try {
    structuredClone(value);
  } catch (err) {
    const e = new Error(`the result of the call could not be cloned: ${(err as Error).message}`);
    return { ok: false, e: { ...toWireError(e), code: 'PLUGVISOR_RESULT_NOT_CLONEABLE' } };
  }
  return { ok: true, v: value };
}

function withCode(e: WireError, code: string): WireError {
  return { ...e, code: e.code ?? code };
}
