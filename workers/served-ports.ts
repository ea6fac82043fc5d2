/**
 * The dependents' direct channels this worker serves. A reload holds them: messages that arrive
 * meanwhile are kept, in order, and handled when the worker resumes (the reload rolled back); if the
 * reload commits, this worker ends and its dependents, reloaded with it, have new channels.
 */
import type { MessagePort } from 'node:worker_threads';
import type { CallOrBatch } from '../src/protocol/messages.js';
import type { Outbox } from '../src/protocol/outbox.js';
import type { Reply, RpcServer } from './rpc-server.js';

interface Served {
  outbox: Outbox<Reply>;
  held: CallOrBatch[];
}

export class ServedPorts {
  readonly #server: RpcServer;
  readonly #ports = new Map<MessagePort, Served>();
  #holding = false;

  constructor(server: RpcServer) {
    this.#server = server;
  }

  serve(port: MessagePort): void {
    const served: Served = { outbox: this.#server.createOutbox(port), held: [] };
    this.#ports.set(port, served);
    port.on('message', (msg: CallOrBatch) => {
      if (this.#holding) served.held.push(msg);
      else dispatch(this.#server, msg, served.outbox);
    });
    port.once('close', () => this.#ports.delete(port));
  }

  hold(): void {
    this.#holding = true;
  }

  resume(): void {
    this.#holding = false;
    for (const served of this.#ports.values()) {
      for (const msg of served.held.splice(0)) dispatch(this.#server, msg, served.outbox);
    }
  }
}

export function dispatch(server: RpcServer, msg: CallOrBatch, outbox: Outbox<Reply>): void {
  if (msg.t === 'call') server.handle(msg, outbox);
  else if (msg.t === 'batch') for (const call of msg.m) server.handle(call, outbox);
  else throw new Error(`plugvisor plugin worker: unexpected message type ${JSON.stringify((msg as { t?: unknown }).t)}`);
}
