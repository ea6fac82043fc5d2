/**
 * reload.backup_state: each plugin's state checkpointed to disk after every reload, every
 * reload.checkpoint_interval seconds, and at stop(); restored at the next start and at crash
 * restarts. Without backup_state it only serves explicit backups (reload --backup-state).
 */
import type { Logger } from 'pino';
import type { PluginRuntime, SavedState } from '../runtime/plugin-runtime.js';
import { plainImage } from '../protocol/state-image.js';
import type { WorkerTransport } from '../runtime/worker-transport.js';
import { StateStore } from './state-store.js';

export interface BackupSettings {
  enabled: boolean;
  intervalSeconds: number;
  timeoutMs: number;
}

export interface StateBackupsOptions {
  dir: string;
  /** Read at each use: hot-loading.yaml may change them while the host runs. */
  settings(): BackupSettings;
  log: Logger;
  /** The plugins to checkpoint periodically. */
  runtimes(): Iterable<PluginRuntime>;
}

export class StateBackups {
  readonly store: StateStore;
  readonly #options: StateBackupsOptions;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: StateBackupsOptions) {
    this.#options = options;
    this.store = new StateStore(options.dir);
  }

  get enabled(): boolean {
    return this.#options.settings().enabled;
  }

  startCheckpoints(): void {
    const { enabled, intervalSeconds } = this.#options.settings();
    if (!enabled || intervalSeconds <= 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.#checkpointAll(), intervalSeconds * 1000);
    this.#timer.unref();
  }

  stopCheckpoints(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The settings changed: checkpoint at the new interval, or no longer. */
  restartCheckpoints(): void {
    this.stopCheckpoints();
    this.startCheckpoints();
  }

  /** The state a plugin starts or restarts from, when backups are on and one was saved. */
  savedState(runtime: PluginRuntime): SavedState | undefined {
    if (!this.enabled) return undefined;
    const name = runtime.name;
    let stored;
    try {
      stored = this.store.load(name);
    } catch (err) {
      this.#discard(name, err as Error);
      return undefined;
    }
    if (stored === undefined) return undefined;
    this.#options.log.info({ plugin: name, file: stored.file, savedAt: stored.savedAt, fromVersion: stored.version }, 'restoring state from backup');
    return { state: plainImage(stored.state), source: 'backup', fromVersion: stored.version, discard: (err) => this.#discard(name, err) };
  }

  /** Snapshot the worker's state and write it; resolves with the file. */
  async checkpoint(runtime: PluginRuntime, transport: WorkerTransport | undefined = runtime.transport): Promise<string | undefined> {
    if (transport === undefined || !transport.alive) return undefined;
    const state = await transport.control('snapshot', null, this.#options.settings().timeoutMs);
    return this.save(runtime.name, runtime.manifest.version, state);
  }

  save(plugin: string, version: string, state: Uint8Array, label?: string): string {
    return this.store.save(plugin, version, state, label).file;
  }

  async #checkpointAll(): Promise<void> {
    for (const runtime of this.#options.runtimes()) {
      if (runtime.status !== 'serving') continue;
      await this.checkpoint(runtime).catch((err: Error) =>
        this.#options.log.warn({ plugin: runtime.name, err }, 'state checkpoint failed'));
    }
  }

  #discard(plugin: string, err: Error): void {
    let kept: string | undefined;
    try {
      kept = this.store.quarantine(plugin);
    } catch {
      // already gone
    }
    this.#options.log.error({ plugin, err, kept }, 'saved state does not restore; starting from state()');
  }
}
