/**
 * The task function of a pooled (stateless) plugin's piscina threads. Each thread imports the
 * plugin once, on its first task; errors are returned as values so that `code` and own fields
 * survive (piscina would clone a thrown error and lose them).
 */
import { workerData } from 'piscina';
import { pino } from 'pino';
import type { PluginContext } from '../src/protocol/plugin-definition.js';
import type { PluginDefinition } from '../src/protocol/plugin-definition.js';
import { toWireError, type WireError } from '../src/protocol/wire-error.js';
import type { PoolWorkerData, PoolTask, PoolResult } from '../src/protocol/pool.js';
import { loadPlugin } from './load-plugin.js';

const data = workerData as PoolWorkerData;
process.setSourceMapsEnabled(true);

let ready: Promise<{ definition: PluginDefinition; ctx: PluginContext }> | undefined;

async function init(): Promise<{ definition: PluginDefinition; ctx: PluginContext }> {
  const definition = await loadPlugin(data.moduleUrl, data.entryFile);
  const ctx: PluginContext = {
    name: data.plugin,
    version: data.version,
    state: definition.state === undefined ? {} : await definition.state(),
    config: data.config,
    log: pino({ name: data.plugin, level: data.logLevel }),
    plugins: {},
  };
  await definition.setup?.(ctx);
  return { definition, ctx };
}

export default async function runTask(task: PoolTask): Promise<PoolResult> {
  let loaded;
  try {
    loaded = await (ready ??= init());
  } catch (err) {
    return { ok: false, e: withCode(toWireError(err), 'PLUGVISOR_PLUGIN_LOAD_FAILED') };
  }
  const command = loaded.definition.commands[task.c];
  if (typeof command !== 'function') {
    return { ok: false, e: withCode(toWireError(new Error(`plugin "${data.plugin}" has no command "${task.c}"`)), 'PLUGVISOR_COMMAND_NOT_FOUND') };
  }
  try {
    return { ok: true, v: await command(loaded.ctx, ...task.a) };
  } catch (err) {
    return { ok: false, e: toWireError(err) };
  }
}

function withCode(e: WireError, code: string): WireError {
  return { ...e, code: e.code ?? code };
}
