import type { ReloadPhases } from './reload-result.js';

/** Accumulates time per phase across the plugins of one transaction. */
export class PhaseClock {
  readonly phases: ReloadPhases = {
    prepare: 0, validate: 0, spawn: 0, precopy: 0, drain: 0, detach: 0, snapshot: 0, activate: 0, health: 0, transfer: 0, swap: 0, dispose: 0,
  };

  async time<T>(phase: keyof ReloadPhases, run: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    try {
      return await run();
    } finally {
      this.phases[phase] += performance.now() - t0;
    }
  }

  /** Part of a phase's time (measured by the worker) belongs to another: e.g. the state serialised during detach. */
  shift(from: keyof ReloadPhases, to: keyof ReloadPhases, ms: number): void {
    this.phases[from] -= ms;
    this.phases[to] += ms;
  }
}
