/**
 * ctx.plugins.<dependency>.<command>(...): calls over a direct MessagePort to the dependency's
 * worker, with no hop through the host. When the dependency's worker dies the port closes; calls
 * then wait (within their timeout) for the host to wire a new channel to the restarted worker.
 */
import type { MessagePort } from 'node:worker_threads';
import { CallTable } from '../src/protocol/call-table.js';
import type { CallMessage, ErrMessage, OkMessage, PeerWiring, ReplyOrBatch } from '../src/protocol/messages.js';
import { Outbox } from '../src/protocol/outbox.js';
import { fromWireError } from '../src/protocol/wire-error.js';

export class PeerClient {
  readonly #name: string;
  readonly #calls: CallTable;
  #port: MessagePort | undefined;
  #outbox: Outbox<CallMessage> | undefined;
  #timeoutMs: number;
  /** Calls issued while no channel is open: sent in order when the next one is wired. */
  #waiting: CallMessage[] = [];

  /** `onTimeout` runs when a call sent to the dependency timed out (the host then checks its liveness). */
  constructor(wiring: PeerWiring, onTimeout: (name: string) => void) {
    this.#name = wiring.name;
    this.#timeoutMs = wiring.callTimeoutMs;
    this.#calls = new CallTable((call) => {
      call.reject(codeError('PLUGVISOR_CALL_TIMEOUT', `call ${this.#name}.${call.command} timed out after ${this.#timeoutMs} ms`));
      if (call.sentTo === 1) onTimeout(this.#name);
    });
    this.wire(wiring);
  }

  call(command: string, args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const entry = this.#calls.add(command, this.#timeoutMs, resolve, reject);
      const message: CallMessage = { t: 'call', id: entry.id, c: command, a: args };
      if (this.#outbox === undefined) this.#waiting.push(message);
      else this.#send(message);
    });
  }

  /** A new channel to the dependency (first wiring, or after it was restarted or reloaded). */
  wire(wiring: PeerWiring): void {
    this.#detach();
    this.#timeoutMs = wiring.callTimeoutMs;
    const port = wiring.port;
    this.#port = port;
    this.#outbox = new Outbox<CallMessage>(port, (message, err) => {
      this.#calls.take(message.id)?.reject(codeError('PLUGVISOR_ARGS_NOT_CLONEABLE',
        `arguments of ${this.#name}.${message.c} cannot be cloned: ${(err as Error).message}`));
    });
    port.on('message', (msg: ReplyOrBatch) => {
      if (msg.t === 'batch') for (const m of msg.m) this.#settle(m);
      else this.#settle(msg);
    });
    port.once('close', () => {
      if (this.#port !== port) return;
      this.#port = undefined;
      this.#outbox = undefined;
      // Calls the dead worker held are lost with it: fail them rather than leave them hanging.
      this.#calls.failWhere((c) => c.sentTo === 1, () =>
        codeError('PLUGVISOR_PLUGIN_CRASHED', `dependency "${this.#name}" stopped while a call to it was in flight`, { reason: 'exit' }));
    });
    for (const message of this.#waiting) this.#send(message);
    this.#waiting = [];
  }

  close(): void {
    this.#detach();
    this.#calls.close();
  }

  #send(message: CallMessage): void {
    const entry = this.#calls.get(message.id);
    if (entry === undefined) return;
    entry.sentTo = 1;
    this.#outbox?.push(message);
  }

  #detach(): void {
    const port = this.#port;
    this.#port = undefined;
    this.#outbox = undefined;
    if (port !== undefined) {
      port.removeAllListeners('message');
      port.close();
    }
  }

  #settle(reply: OkMessage | ErrMessage): void {
    const call = this.#calls.take(reply.id);
    if (call === undefined) return;
    if (reply.t === 'ok') call.resolve(reply.v);
    // The dependency's name stays readable but is not one of the error's own fields: a plugin that
    // rethrows it reports it as its own error, with its own name.
    else call.reject(fromWireError(reply.e, 'PLUGVISOR_COMMAND_FAILED', { plugin: this.#name, command: call.command }, false));
  }
}

export function createPluginProxy(client: PeerClient): Record<string, (...args: unknown[]) => Promise<unknown>> {
  return new Proxy({}, {
    get(_target, prop) {
      // Not thenable: `await ctx.plugins.store` must not look for a then() command.
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      return (...args: unknown[]) => client.call(prop, args);
    },
  });
}

function codeError(code: string, message: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code }, fields);
}
