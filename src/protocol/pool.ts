/**
 * What the host and a pooled plugin's piscina threads exchange. Shared by both sides: this folder
 * imports nothing from src/ or workers/.
 */
import type { PluginShape } from './messages.js';
import type { WireError } from './wire-error.js';

export interface PoolWorkerData {
  plugin: string;
  version: string;
  moduleUrl: string;
  entryFile: string;
  config: unknown;
  logLevel: string;
}

/** A command call, or the probe the host sends once at start to learn the plugin's shape. */
export type PoolTask = { c: string; a: unknown[] } | { probe: true };

/**
 * A task's outcome. Errors travel as values: piscina would clone a thrown error and lose its `code`
 * and own fields. `loadFailed`: the thread could not load or activate the plugin (the error's fields
 * carry the `step`), as opposed to a command's own error, which may have a `step` field of its own.
 */
export type PoolResult = { ok: true; v: unknown } | { ok: false; e: WireError; loadFailed?: true };

/** The probe's value. */
export type PoolProbeResult = PluginShape;
