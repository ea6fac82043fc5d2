import type { Supervisor } from '../supervisor.js';
import type { SupervisorEventMap } from '../supervisor-events.js';

export type EventHandlers = { [E in keyof SupervisorEventMap]?: (payload: SupervisorEventMap[E][0]) => void };

/** Listen to several supervisor events; the returned function removes every listener it added. */
export function subscribe(sup: Supervisor, handlers: EventHandlers): () => void {
  const added = Object.entries(handlers) as Array<[keyof SupervisorEventMap, (payload: never) => void]>;
  for (const [event, handler] of added) sup.on(event, handler as never);
  return () => {
    for (const [event, handler] of added) sup.off(event, handler as never);
  };
}
