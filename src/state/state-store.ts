/**
 * The last good state of each plugin on disk (reload.backup_state): written atomically (temp file,
 * fsync, rename), so a crash mid-write leaves the previous checkpoint intact. A host restart, or a
 * crash restart of the plugin, comes back with this state instead of an empty one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface StoredState {
  state: Uint8Array;
  version: string;
  savedAt: string;
  file: string;
}

export class StateStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The checkpoint file of a plugin; `label` names an extra copy (e.g. the state before a reload). */
  fileOf(plugin: string, label?: string): string {
    return join(this.dir, `${encodeURIComponent(plugin)}${label === undefined ? '' : `.${label}`}.v8`);
  }

  save(plugin: string, version: string, state: Uint8Array, label?: string): StoredState {
    mkdirSync(this.dir, { recursive: true });
    const file = this.fileOf(plugin, label);
    const savedAt = new Date().toISOString();
    // `plugin` lets load() refuse another plugin's file put under this name (a copy made by hand).
    const header = Buffer.from(JSON.stringify({ plugin, version, savedAt }) + '\n');
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, header);
      writeSync(fd, state);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    return { state, version, savedAt, file };
  }

  load(plugin: string): StoredState | undefined {
    const file = this.fileOf(plugin);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const newline = bytes.indexOf(0x0a);
    if (newline < 0) throw new Error(`${file}: not a plugvisor state file (no header)`);
    const header = JSON.parse(bytes.subarray(0, newline).toString('utf8')) as { plugin?: unknown; version?: unknown; savedAt?: unknown } | null;
    if (header === null || typeof header !== 'object' || typeof header.version !== 'string' || typeof header.savedAt !== 'string') {
      throw new Error(`${file}: not a plugvisor state file (its header lacks "version" and "savedAt")`);
    }
    // Files written before the header named its plugin have no "plugin": those are taken as they are.
    if (header.plugin !== undefined && header.plugin !== plugin) {
      throw new Error(`${file}: the state of plugin ${JSON.stringify(header.plugin)}, not of "${plugin}"`);
    }
    // A copy that owns its buffer: it is transferred to the worker.
    const state = new Uint8Array(bytes.subarray(newline + 1));
    return { state, version: header.version, savedAt: header.savedAt, file };
  }

  /** Keep a file that would not restore, for inspection, and stop using it. */
  quarantine(plugin: string): string {
    const file = this.fileOf(plugin);
    const target = `${file}.corrupt`;
    renameSync(file, target);
    return target;
  }

  remove(plugin: string): void {
    rmSync(this.fileOf(plugin), { force: true });
  }
}
