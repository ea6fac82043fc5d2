/**
 * The CLI's end of the control channel: finds the host of the current project (or takes --socket),
 * sends requests and reads answers and stream events (protocol.ts).
 */
import { createConnection, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { PlugvisorError } from '../errors.js';
import { fromControlError, type ControlMethod, type ControlResponse, type EventOf, type ParamsOf, type ResultOf } from './protocol.js';
import { findHost } from './socket-path.js';

export interface ConnectOptions {
  /** The socket to use instead of finding the host from `cwd`. */
  socket?: string;
  /** Where to look for the host: this folder and its parents. Default: process.cwd(). */
  cwd?: string;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  onEvent?(event: unknown): void;
}

export class ControlClient {
  readonly socketPath: string;
  /** The project folder the host was found in (undefined with --socket). */
  readonly root: string | undefined;
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closedError: Error | undefined;

  private constructor(socketPath: string, root: string | undefined, socket: Socket) {
    this.socketPath = socketPath;
    this.root = root;
    this.#socket = socket;
    socket.setEncoding('utf8');
    let buffered = '';
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() === '') continue;
        let message: ControlResponse;
        try {
          message = JSON.parse(line) as ControlResponse;
        } catch {
          continue; // not from a plugvisor host: nothing to match it to
        }
        this.#onMessage(message);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closedError ??= new PlugvisorError('PLUGVISOR_HOST_NOT_RUNNING', `the host closed the control connection (${socketPath}) before it answered; did it stop? A request in flight may have run`);
      for (const pending of this.#pending.values()) pending.reject(this.#closedError);
      this.#pending.clear();
    });
  }

  /** Connect to the host of the project `cwd` is in, or to `socket`. */
  static connect(options: ConnectOptions = {}): Promise<ControlClient> {
    const cwd = resolve(options.cwd ?? process.cwd());
    let socketPath: string;
    let root: string | undefined;
    let pid: number | undefined;
    if (options.socket !== undefined) {
      socketPath = resolve(cwd, options.socket);
    } else {
      const found = findHost(cwd);
      if (found === undefined) {
        return Promise.reject(new PlugvisorError('PLUGVISOR_HOST_NOT_RUNNING',
          `no plugvisor host is running for ${cwd} (no .plugvisor/run/ here or above); start one with "plugvisor start" in the project folder, or pass --socket`));
      }
      ({ socket: socketPath, root } = found);
      pid = found.record?.pid;
    }
    return new Promise((resolvePromise, reject) => {
      const socket = createConnection(socketPath);
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolvePromise(new ControlClient(socketPath, root, socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const where = root === undefined ? socketPath : `${root} (${socketPath})`;
        const why = err.code === 'ENOENT' ? 'no socket there'
          : err.code === 'ECONNREFUSED' ? `nothing answers on the socket: the host${pid === undefined ? '' : ` (pid ${pid})`} has stopped`
            : err.message;
        reject(new PlugvisorError('PLUGVISOR_HOST_NOT_RUNNING', `no plugvisor host is running for ${where}: ${why}; start one with "plugvisor start"`, { file: socketPath, cause: err }));
      });
    });
  }

  /** One request, one answer. */
  request<M extends ControlMethod>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    return this.#send(method, params, undefined) as Promise<ResultOf<M>>;
  }

  /** A stream request: `onEvent` for each event; resolves with the final answer (or when close() ends it). */
  stream<M extends ControlMethod>(method: M, params: ParamsOf<M>, onEvent: (event: EventOf<M>) => void): Promise<ResultOf<M>> {
    return this.#send(method, params, onEvent as (event: unknown) => void) as Promise<ResultOf<M>>;
  }

  close(): void {
    this.#closedError ??= new PlugvisorError('PLUGVISOR_HOST_NOT_RUNNING', 'the control connection was closed');
    this.#socket.destroy();
  }

  #send(method: ControlMethod, params: unknown, onEvent: ((event: unknown) => void) | undefined): Promise<unknown> {
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError);
    const id = this.#nextId++;
    return new Promise((resolvePromise, reject) => {
      this.#pending.set(id, { resolve: resolvePromise, reject, onEvent });
      this.#socket.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  #onMessage(message: ControlResponse): void {
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    if ('event' in message) {
      pending.onEvent?.(message.event);
      return;
    }
    this.#pending.delete(message.id);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(fromControlError(message.error));
  }
}
