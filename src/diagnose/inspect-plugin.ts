/**
 * `plugvisor dev plugin debug NAME [--verbose]`: everything the host knows about one plugin in one
 * place: what runs (version, worker, commands and hooks), how it is configured (manifest limits,
 * restart policy), whether the code on disk is what runs, its state and heap, and its recent
 * events (the last reload's failure among them).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { compilePlugin } from '../plugin/compile-plugin.js';
import { readManifest } from '../plugin/manifest.js';
import type { PluginInfo } from '../plugin-info.js';
import type { WorkerHeap } from '../protocol/messages.js';
import type { Supervisor } from '../supervisor.js';
import type { HistoryEntry } from '../control/event-history.js';
import { pluginFiles } from './plugin-files.js';

export interface PluginInspection {
  info: PluginInfo;
  /** The resolved manifest of the running version (limits, restart policy, activation, …). */
  manifest: Record<string, unknown> | undefined;
  /** Is the code on disk the code that runs? */
  disk: { version?: string; sameCode?: boolean; error?: string };
  stateBytes: number | null;
  stateError?: string;
  heap: WorkerHeap | null;
  events: HistoryEntry[];
  /** With verbose: the plugin folder's files, relative to it. */
  files?: string[];
}

export async function inspectPlugin(sup: Supervisor, name: string, events: HistoryEntry[], verbose: boolean): Promise<PluginInspection> {
  const info = sup.info(name);
  let manifest: Record<string, unknown> | undefined;
  const disk: PluginInspection['disk'] = {};
  try {
    const m = readManifest(info.path, { checkEngines: false });
    manifest = { ...m };
    disk.version = m.version;
    const { developmentMode, development } = sup.config;
    const compiled = await compilePlugin(m.name, m.entryFile, join(sup.root, '.plugvisor', 'cache'), { stableOutput: developmentMode && development.preserveBreakpoints });
    // Compiled the way the host compiles it: the same content hash means the same code.
    disk.sameCode = contentHash(info.module) === compiled.hash;
  } catch (err) {
    disk.error = (err as Error).message;
  }
  let stateBytes: number | null = null;
  let stateError: string | undefined;
  try {
    stateBytes = (await sup.stateSnapshot(name))?.byteLength ?? null;
  } catch (err) {
    stateError = (err as Error).message;
  }
  const heap = (await sup.workerHeap(name).catch(() => undefined)) ?? null;
  return {
    info,
    manifest,
    disk,
    stateBytes,
    ...(stateError === undefined ? {} : { stateError }),
    heap,
    events,
    ...(verbose ? { files: pluginFiles(info.path).map((f) => relative(info.path, f)) } : {}),
  };
}

function contentHash(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
  } catch {
    return undefined;
  }
}
