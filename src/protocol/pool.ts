/** What the host and a pooled plugin's piscina threads exchange. */
import type { WireError } from './wire-error.js';

export interface PoolWorkerData {
  plugin: string;
  version: string;
  moduleUrl: string;
  entryFile: string;
  config: unknown;
  logLevel: string;
}

export type PoolTask = { c: string; a: unknown[] };
export type PoolResult = { ok: true; v: unknown } | { ok: false; e: WireError };
