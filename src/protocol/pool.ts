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
 * and own fields. A failing load or activation step carries `step` in the error's fields.
 */
export type PoolResult = { ok: true; v: unknown } | { ok: false; e: WireError };

/** The probe's value. */
export type PoolProbeResult = PluginShape;
