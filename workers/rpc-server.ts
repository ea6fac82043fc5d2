/**
 * Serves command calls arriving on one port: the host's channel (parentPort) or a dependent
 * plugin's direct channel. Synchronous results are answered without an await, and the replies of
 * one tick leave as one batch.
 */
import type { MessagePort } from 'node:worker_threads';
import { Outbox } from '../src/protocol/outbox.js';
import type { CallMessage, ErrMessage, OkMessage } from '../src/protocol/messages.js';
import { toWireError } from '../src/protocol/wire-error.js';
import type { PluginContext, PluginDefinition } from '../src/protocol/plugin-definition.js';

export type Reply = OkMessage | ErrMessage;

export class RpcServer {
  readonly #definition: PluginDefinition;
  readonly #ctx: PluginContext;
  readonly #generation: number;
  #pendingAsync = 0;
  #idleWaiters: Array<() => void> = [];
  /** The ids of the asynchronous calls still running, by the outbox their replies will go to (see unanswered). */
  readonly #running = new WeakMap<Outbox<Reply>, Set<number>>();

  constructor(definition: PluginDefinition, ctx: PluginContext, generation: number) {
    this.#definition = definition;
    this.#ctx = ctx;
    this.#generation = generation;
  }

  /** An outbox for replies on `port`, whose uncloneable results turn into errors. */
  createOutbox(port: MessagePort): Outbox<Reply> {
    const outbox: Outbox<Reply> = new Outbox<Reply>(port, (reply, err) => {
      const why = (err as Error).message;
      if (reply.t !== 'ok') {
        // toWireError's output clones; should it not, the caller still gets an answer with the code.
        const e = { name: 'Error', message: `plugin "${this.#ctx.name}": its error could not be cloned: ${why}`, code: reply.e.code, fields: {} };
        port.postMessage({ t: 'err', id: reply.id, g: reply.g, e } satisfies ErrMessage);
        return;
      }
      port.postMessage({ t: 'err', id: reply.id, g: reply.g, e: toWireError(this.#notCloneable(why)) } satisfies ErrMessage);
    });
    return outbox;
  }

  #notCloneable(why: string): Error {
    const e = new Error(`plugin "${this.#ctx.name}": the result of the call could not be cloned: ${why}`);
    return Object.assign(e, { code: 'PLUGVISOR_RESULT_NOT_CLONEABLE' });
  }

  /** Resolves once no asynchronous command is running (a reload detaches the worker only then). */
  idle(): Promise<void> {
    if (this.#pendingAsync === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * The calls that came through `outbox`'s port and are not answered yet. Every call before them is
   * answered in a message already posted (sync results leave in the tick they arrive), so the host,
   * which asks after it could not read one of those messages, knows which replies it lost.
   */
  unanswered(outbox: Outbox<Reply>): number[] {
    outbox.flush();
    return [...(this.#running.get(outbox) ?? [])];
  }

  #settled(outbox: Outbox<Reply>, reply: Reply): void {
    this.#running.get(outbox)?.delete(reply.id);
    outbox.push(reply);
    if (--this.#pendingAsync === 0 && this.#idleWaiters.length > 0) {
      outbox.flush();
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  handle(call: CallMessage, outbox: Outbox<Reply>): void {
    const g = this.#generation;
    const commands = this.#definition.commands;
    // Own properties only: a lazy plugin's first calls arrive before the host knows its commands,
    // and `toString` or `constructor` must not reach Object.prototype's.
    const command = Object.hasOwn(commands, call.c) ? commands[call.c] : undefined;
    if (typeof command !== 'function') {
      const e = Object.assign(new Error(`plugin "${this.#ctx.name}" has no command "${call.c}"`), {
        code: 'PLUGVISOR_COMMAND_NOT_FOUND',
      });
      outbox.push({ t: 'err', id: call.id, g, e: toWireError(e) });
      return;
    }
    let result: unknown;
    try {
      // Called as a method of its object, as `commands.quad(…)` would be: `this.double(…)` works.
      result = command.call(commands, this.#ctx, ...call.a);
    } catch (err) {
      outbox.push({ t: 'err', id: call.id, g, e: toWireError(err) });
      return;
    }
    let thenable: boolean;
    try {
      thenable = isThenable(result);
    } catch (err) {
      // A revoked proxy, or a `then` getter that throws: the result cannot be read, let alone cloned.
      outbox.push({ t: 'err', id: call.id, g, e: toWireError(this.#notCloneable((err as Error).message)) });
      return;
    }
    if (thenable) {
      this.#pendingAsync++;
      let running = this.#running.get(outbox);
      if (running === undefined) this.#running.set(outbox, (running = new Set()));
      running.add(call.id);
      // Adopted as `await` would: a foreign thenable's then() that throws rejects instead of killing
      // the worker, and one that calls back twice settles once (a second #settled would leave
      // idle() waiting forever, and every later reload would time out at detach).
      Promise.resolve(result).then(
        (v) => this.#settled(outbox, { t: 'ok', id: call.id, g, v }),
        (err) => this.#settled(outbox, { t: 'err', id: call.id, g, e: toWireError(err) }),
      );
    } else {
      outbox.push({ t: 'ok', id: call.id, g, v: result });
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function';
}
