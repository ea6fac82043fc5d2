/**
 * The host's recent supervisor events (loads, reloads, rollbacks, crashes, restarts, changes), kept
 * for `dev plugin debug`: "why did my last reload fail?" is answered from here.
 */
import type { Supervisor } from '../supervisor.js';
import type { SupervisorEvent, SupervisorEventMap } from '../supervisor-events.js';

export interface HistoryEntry {
  at: string;
  event: SupervisorEvent;
  plugin: string;
  [field: string]: unknown;
}

const EVENTS: SupervisorEvent[] = ['load', 'unload', 'crash', 'restart', 'reload', 'rollback', 'change', 'config'];

export class EventHistory {
  readonly #entries: HistoryEntry[] = [];
  readonly #size: number;
  readonly #detach: () => void;

  constructor(sup: Supervisor, size = 500) {
    this.#size = size;
    const listeners = EVENTS.map((event) => {
      const listener = (payload: SupervisorEventMap[typeof event][0]): void => this.#record(event, payload);
      sup.on(event, listener as never);
      return [event, listener] as const;
    });
    this.#detach = () => {
      for (const [event, listener] of listeners) sup.off(event, listener as never);
    };
  }

  /** The last `limit` events of one plugin (or of all), oldest first. */
  recent(plugin?: string, limit = 20): HistoryEntry[] {
    const matching = plugin === undefined ? this.#entries : this.#entries.filter((e) => e.plugin === plugin);
    return matching.slice(-limit);
  }

  close(): void {
    this.#detach();
  }

  #record(event: SupervisorEvent, payload: { plugin: string }): void {
    this.#entries.push({ at: new Date().toISOString(), event, ...payload });
    if (this.#entries.length > this.#size) this.#entries.splice(0, this.#entries.length - this.#size);
  }
}
