/** The events a Supervisor emits; every payload names its plugin. */
export interface SupervisorEventMap {
  load: [{ plugin: string; version: string; activation: 'eager' | 'lazy'; pooled: boolean }];
  /** sup.unload(), and stop() for each plugin it ends (dependents first). */
  unload: [{ plugin: string; version: string }];
  crash: [{ plugin: string; reason: string; generation: number; failedCalls: number; error?: string }];
  restart: [{ plugin: string; attempt: number; delayMs: number; generation: number; state: string; durationMs: number }];
  reload: [{ plugin: string; fromVersion: string; toVersion: string; durationMs: number; pauseMs: number }];
  rollback: [{ plugin: string; step: string; error: string }];
  /** The watcher saw a plugin's files change; `action` says what was done about it. */
  change: [{ plugin: string; files: string[]; action: 'reload' | 'config' | 'none' }];
  /** A plugin's config file or hot-loading.yaml was re-read: applied, or refused with the reason. */
  config: [{ plugin: string; file: string; ok: boolean; error?: string }];
}

export type SupervisorEvent = keyof SupervisorEventMap;
