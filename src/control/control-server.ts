/**
 * The host's end of the control channel: a Unix socket in a private folder of the project
 * (socket-path.ts), newline-delimited JSON (protocol.ts), each request handed to the handlers.
 *
 * Opening it:
 *   - a socket file already there is probed: a live host answering on it means this host refuses
 *     to start (PLUGVISOR_HOST_ALREADY_RUNNING); a dead one's socket is removed;
 *   - listen, then chmod 0600 (the 0700 folder already keeps others out in between);
 *   - host.json records pid and socket for the CLI.
 * A client that disconnects aborts its streams (monitor, devWatch) through their AbortSignal.
 *
 * Stopping is in two steps, so that a CLI call in flight when the host gets Ctrl-C is answered
 * (the user must not retry a command that did run):
 *   drain()   new requests, on new or open connections, get PLUGVISOR_HOST_STOPPING; streams end
 *             with that error; the requests in flight run to their answer (bounded by a timeout).
 *             The socket keeps listening, so a second host still finds this one alive.
 *   close()   stop listening, end the connections (answers already written are flushed), remove
 *             the socket and host.json.
 *   destroy() at once, for a forced exit: connections cut, files removed synchronously.
 */
import { chmodSync, lstatSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { PlugvisorError } from '../errors.js';
import { toJsonValue } from '../json-value.js';
import { settlesWithin } from '../settles-within.js';
import { PLUGVISOR_VERSION } from '../version.js';
import { CONTROL_METHODS, STREAM_METHODS, toControlError, type ControlMethod, type ControlResponse } from './protocol.js';
import { ensurePrivateDir, hostRecordFile, readHostRecord, runDirOf, socketPathFor, type HostRecord } from './socket-path.js';

/** Longest request line accepted (a call's arguments included). */
const MAX_LINE_BYTES = 8 * 1024 * 1024;
const PROBE_TIMEOUT_MS = 1000;
/** How long close() lets clients read their last answers before it cuts the connections. */
const END_GRACE_MS = 1000;

export interface StreamContext {
  /** Send an event of this request's stream. */
  emit(event: unknown): void;
  /** Aborted when the client goes away or the server drains or closes. */
  readonly signal: AbortSignal;
}

export type RequestHandler = (method: ControlMethod, params: Record<string, unknown>, stream: StreamContext) => Promise<unknown>;

export interface ControlServerOptions {
  root: string;
  log: Logger;
  handle: RequestHandler;
}

export class ControlServer {
  readonly socketPath: string;
  readonly #root: string;
  readonly #server: Server;
  readonly #log: Logger;
  readonly #sockets = new Set<Socket>();
  /** Aborted by drain() or close(): new requests are refused, streams end. */
  readonly #stopping = new AbortController();
  /** Requests being handled, until their answer is written. */
  readonly #inFlight = new Set<Promise<void>>();
  #closed: Promise<void> | undefined;

  private constructor(root: string, socketPath: string, server: Server, log: Logger) {
    this.#root = root;
    this.socketPath = socketPath;
    this.#server = server;
    this.#log = log;
  }

  /** Open the project's control socket; refuses when another live host answers on it. */
  static async open(options: ControlServerOptions): Promise<ControlServer> {
    const { root, log } = options;
    const socketPath = socketPathFor(root);
    ensurePrivateDir(runDirOf(root));
    ensurePrivateDir(dirname(socketPath));
    await removeStaleSocket(socketPath, root);
    const server = createServer();
    const control = new ControlServer(root, socketPath, server, log);
    server.on('connection', (socket) => control.#serve(socket, options.handle));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(err.code === 'EADDRINUSE'
          ? new PlugvisorError('PLUGVISOR_HOST_ALREADY_RUNNING', `another host took the control socket ${socketPath} while this one was starting`, { file: socketPath })
          : new PlugvisorError('PLUGVISOR_CONTROL_UNAVAILABLE', `cannot listen on ${socketPath}: ${err.message}`, { file: socketPath, cause: err }));
      });
      server.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o600);
    const record: HostRecord = { pid: process.pid, socket: socketPath, root, startedAt: new Date().toISOString(), version: PLUGVISOR_VERSION };
    writeFileSync(hostRecordFile(root), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    log.info({ socket: socketPath }, 'control channel listening');
    return control;
  }

  /** Requests being handled and not yet answered. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Refuse new requests (PLUGVISOR_HOST_STOPPING), end the streams, and wait until every request
   * in flight is answered or `timeoutMs` has passed. Resolves with the number still unanswered.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.#stopping.abort();
    const deadline = Date.now() + timeoutMs;
    // A loop: a request that arrives meanwhile is added to the set (and refused at once).
    while (this.#inFlight.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await settlesWithin(Promise.allSettled([...this.#inFlight]), left))) break;
    }
    return this.#inFlight.size;
  }

  /** Refuse requests, end connections (after their last answers), remove the socket. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stopping.abort();
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      // end(), not destroy(): an answer still in the socket's buffer reaches its client.
      for (const socket of this.#sockets) socket.end();
      if (!(await settlesWithin(closed, END_GRACE_MS))) for (const socket of this.#sockets) socket.destroy();
      await closed;
    })().finally(() => this.#removeFiles());
    return this.#closed;
  }

  /** At once (a forced exit): cut every connection, remove the socket and host.json synchronously. */
  destroy(): void {
    this.#stopping.abort();
    for (const socket of this.#sockets) socket.destroy();
    this.#server.close();
    this.#removeFiles();
  }

  #removeFiles(): void {
    rmSync(this.socketPath, { force: true });
    if (readHostRecord(this.#root)?.pid === process.pid) rmSync(hostRecordFile(this.#root), { force: true });
  }

  #serve(socket: Socket, handle: RequestHandler): void {
    this.#sockets.add(socket);
    const gone = new AbortController();
    const onStopping = (): void => gone.abort();
    this.#stopping.signal.addEventListener('abort', onStopping);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      this.#stopping.signal.removeEventListener('abort', onStopping);
      gone.abort();
    });
    socket.on('error', () => socket.destroy());
    socket.setEncoding('utf8');
    const send = (message: ControlResponse): void => {
      if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(message)}\n`);
    };
    let buffered = '';
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE_BYTES) {
        send({ id: 0, ok: false, error: toControlError(new PlugvisorError('PLUGVISOR_CONTROL_REQUEST_INVALID', `request longer than ${MAX_LINE_BYTES} bytes`)) });
        socket.end();
        return;
      }
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line !== '') this.#track(this.#dispatch(line, handle, send, gone.signal));
      }
    });
  }

  #track(request: Promise<void>): void {
    this.#inFlight.add(request);
    // #dispatch answers every error itself; one that escapes it must not take the host down.
    request.catch((err: unknown) => this.#log.error({ err }, 'control request failed without an answer'))
      .finally(() => this.#inFlight.delete(request));
  }

  async #dispatch(line: string, handle: RequestHandler, send: (m: ControlResponse) => void, signal: AbortSignal): Promise<void> {
    let id = 0;
    try {
      const request = parseRequest(line);
      id = request.id;
      if (this.#stopping.signal.aborted) throw stoppingError(`it takes no new requests (${request.method} was not run)`);
      const stream: StreamContext = { emit: (event) => send({ id, event: toJsonValue(event) }), signal };
      if (!STREAM_METHODS.has(request.method)) stream.emit = () => undefined;
      const result = await handle(request.method, request.params, stream);
      // A stream the host ended by stopping did not end as its client asked: say why.
      if (STREAM_METHODS.has(request.method) && this.#stopping.signal.aborted) throw stoppingError(`the ${request.method} stream ended`);
      send({ id, ok: true, result: toJsonValue(result) });
    } catch (err) {
      if (!(err instanceof PlugvisorError) || err.code !== 'PLUGVISOR_CONTROL_REQUEST_INVALID') this.#log.debug({ err }, 'control request failed');
      const requestId = (err as { requestId?: number }).requestId;
      if (requestId !== undefined) delete (err as { requestId?: number }).requestId;
      send({ id: requestId ?? id, ok: false, error: toControlError(err) });
    }
  }
}

function stoppingError(what: string): PlugvisorError {
  return new PlugvisorError('PLUGVISOR_HOST_STOPPING', `the host (pid ${process.pid}) is stopping: ${what}`, { pid: process.pid });
}

function parseRequest(line: string): { id: number; method: ControlMethod; params: Record<string, unknown> } {
  const invalid = (why: string): PlugvisorError => new PlugvisorError('PLUGVISOR_CONTROL_REQUEST_INVALID', why);
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw invalid(`a request must be one JSON object per line: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('a request must be a JSON object { id, method, params }');
  const { id, method, params } = raw as Record<string, unknown>;
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw invalid('a request needs a numeric "id"');
  // From here on the error answers this request's id.
  const invalidRequest = (why: string): PlugvisorError => Object.assign(invalid(why), { requestId: id });
  if (typeof method !== 'string' || !CONTROL_METHODS.has(method)) {
    throw invalidRequest(`unknown method ${JSON.stringify(method)} (methods: ${[...CONTROL_METHODS].join(', ')})`);
  }
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) throw invalidRequest('"params" must be an object');
  return { id, method: method as ControlMethod, params: (params ?? {}) as Record<string, unknown> };
}

/**
 * A socket file left where this host's socket goes: remove it if nothing answers (its host died),
 * refuse to start if a host does.
 */
async function removeStaleSocket(socketPath: string, root: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(socketPath).isSocket();
  } catch {
    return;
  }
  if (!isSocket) {
    throw new PlugvisorError('PLUGVISOR_CONTROL_UNAVAILABLE', `${socketPath} exists and is not a socket: refusing to replace it`, { file: socketPath });
  }
  if (await answers(socketPath)) {
    const pid = readHostRecord(root)?.pid;
    throw new PlugvisorError('PLUGVISOR_HOST_ALREADY_RUNNING',
      `another plugvisor host${pid === undefined ? '' : ` (pid ${pid})`} is running for ${root}: its control socket ${socketPath} answers`, { file: socketPath, pid });
  }
  rmSync(socketPath, { force: true });
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    const done = (live: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(live);
    };
    // Something accepting connections there is a live host, even one too busy to answer at once.
    const timer = setTimeout(() => done(true), PROBE_TIMEOUT_MS);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
