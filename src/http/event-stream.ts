/**
 * GET /api/events: the supervisor's events as server-sent events. Each event is written as
 * `id: N`, `event: <name>`, `data: {"type","time","plugin",...payload}`. A comment line every 15 s
 * keeps proxies and idle timeouts from closing a quiet stream; close() ends every stream so the
 * HTTP server can close. A client that falls more than 1 MiB behind is disconnected.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Supervisor } from '../supervisor.js';
import type { SupervisorEvent } from '../supervisor-events.js';
import { toJsonText } from '../json-value.js';
import { subscribe, type EventHandlers } from './subscribe.js';

export const STREAMED_EVENTS = ['load', 'reload', 'rollback', 'crash', 'restart', 'unload', 'change', 'config'] as const satisfies readonly SupervisorEvent[];

const HEARTBEAT_MS = 15_000;
/** A client whose unsent events exceed this is disconnected: one that stops reading (a suspended tab) would otherwise be buffered every event, without bound. */
const MAX_BACKLOG_BYTES = 1024 * 1024;

export class EventStream {
  readonly #clients = new Set<ServerResponse>();
  readonly #unsubscribe: () => void;
  readonly #heartbeat: NodeJS.Timeout;
  #nextId = 1;
  #closed = false;

  constructor(sup: Supervisor) {
    const handlers: EventHandlers = {};
    for (const event of STREAMED_EVENTS) {
      (handlers as Record<string, (payload: object) => void>)[event] = (payload) => this.#broadcast(event, payload);
    }
    this.#unsubscribe = subscribe(sup, handlers);
    this.#heartbeat = setInterval(() => this.#write(': keep-alive\n\n'), HEARTBEAT_MS).unref();
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Take over a response: it stays open until the client leaves or close() is called. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    // HEAD (fastify answers it from this GET route) asks for the headers only: a stream would never end.
    if (this.#closed || req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write(`retry: 2000\n: plugvisor events (${STREAMED_EVENTS.join(', ')})\n\n`);
    this.#clients.add(res);
    req.socket.setNoDelay(true);
    req.on('close', () => this.#clients.delete(res));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    clearInterval(this.#heartbeat);
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }

  #broadcast(event: SupervisorEvent, payload: object): void {
    const data = toJsonText({ type: event, time: new Date().toISOString(), ...payload });
    this.#write(`id: ${this.#nextId++}\nevent: ${event}\ndata: ${data}\n\n`);
  }

  #write(chunk: string): void {
    for (const res of this.#clients) {
      res.write(chunk);
      if (res.writableLength > MAX_BACKLOG_BYTES) {
        this.#clients.delete(res);
        res.destroy(); // an EventSource reconnects by itself (retry) and starts from the events to come
      }
    }
  }
}
