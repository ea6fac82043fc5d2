/**
 * The wire protocol between the host thread and a plugin worker, and between two plugin workers
 * (a dependency channel). Shared by both sides: this folder imports nothing from src/ or workers/.
 *
 * Hot path (commands): one small message per call, ids from a counter, one listener per endpoint.
 * Calls issued in the same tick travel as one `batch` message; the worker answers a batch the same
 * way. Management operations (activate, ping, snapshot, …) use `req`/`res` with their own ids and
 * are typed by `ControlOps` below: an operation's request and response are written in one place.
 */
import type { MessagePort } from 'node:worker_threads';
import type { WireError } from './wire-error.js';

export const PROTOCOL_VERSION = 1;

/** A call: [id, command, args]. Tuples keep the structured clone small on the hot path. */
export type CallMessage = { t: 'call'; id: number; c: string; a: unknown[] };
export type OkMessage = { t: 'ok'; id: number; g: number; v: unknown };
export type ErrMessage = { t: 'err'; id: number; g: number; e: WireError };
export type BatchMessage<M> = { t: 'batch'; m: M[] };

export type CallOrBatch = CallMessage | BatchMessage<CallMessage>;
export type ReplyOrBatch = OkMessage | ErrMessage | BatchMessage<OkMessage | ErrMessage>;

export interface PeerWiring {
  /** The dependency's name, as the plugin sees it in ctx.plugins. */
  name: string;
  port: MessagePort;
  commands: string[];
  callTimeoutMs: number;
}

export interface HealthReport {
  ok: boolean;
  [key: string]: unknown;
}

export interface PluginShape {
  commands: string[];
  hasState: boolean;
  hasMigrate: boolean;
  hasHealth: boolean;
  hasConnect: boolean;
  hasDispose: boolean;
}

/** Every management operation: its request payload and its response value. */
export interface ControlOps {
  /** Create or restore the state, run migrate and setup; the plugin then serves calls. */
  activate: {
    req: { state?: Uint8Array; fromVersion?: string; peers: PeerWiring[] };
    res: { restoredState: boolean };
  };
  ping: { req: null; res: null };
  health: { req: null; res: HealthReport };
  /** Serialise ctx.state with node:v8. */
  snapshot: { req: null; res: Uint8Array };
  dispose: { req: null; res: null };
  /** A dependency channel was (re)made: replace the proxy's port. */
  rewirePeer: { req: PeerWiring; res: null };
  /** A dependent's channel to this plugin: serve the calls that arrive on it. */
  servePeer: { req: { port: MessagePort }; res: null };
  /** A long-lived client channel (sup.connect). */
  connect: { req: { port: MessagePort; resumed: boolean }; res: null };
}

export type ControlOp = keyof ControlOps;
export type ControlRequest<K extends ControlOp = ControlOp> = { t: 'req'; id: number; op: K; p: ControlOps[K]['req'] };
export type ControlResponse =
  | { t: 'res'; id: number; ok: true; v: unknown }
  | { t: 'res'; id: number; ok: false; e: WireError };

/** Sent once by a worker after it imported the plugin module (or failed to). */
export type LoadedMessage = { t: 'loaded'; shape: PluginShape } | { t: 'load-failed'; e: WireError };

export type HostToWorker = CallOrBatch | ControlRequest;
export type WorkerToHost = ReplyOrBatch | ControlResponse | LoadedMessage;

/** What every plugin worker is started with. */
export interface PluginWorkerData {
  protocol: typeof PROTOCOL_VERSION;
  plugin: string;
  version: string;
  generation: number;
  /** file: URL of the compiled (JavaScript) plugin module. */
  moduleUrl: string;
  /** Absolute path of the plugin's entry as written (for error messages). */
  entryFile: string;
  config: unknown;
  logLevel: string;
}
