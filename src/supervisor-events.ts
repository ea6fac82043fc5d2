/** The events a Supervisor emits; every payload names its plugin. */
export interface SupervisorEventMap {
  load: [{ plugin: string; version: string; activation: 'eager' | 'lazy'; pooled: boolean }];
  unload: [{ plugin: string; version: string }];
  crash: [{ plugin: string; reason: string; generation: number; failedCalls: number; error?: string }];
  restart: [{ plugin: string; attempt: number; delayMs: number; generation: number; state: string; durationMs: number }];
  reload: [{ plugin: string; fromVersion: string; toVersion: string; durationMs: number; pauseMs: number }];
  rollback: [{ plugin: string; step: string; error: string }];
}

export type SupervisorEvent = keyof SupervisorEventMap;
