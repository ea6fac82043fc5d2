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
import type { StateImage } from './state-image.js';

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

export interface WorkerHeap {
  heapUsedBytes: number;
  heapTotalBytes: number;
  heapLimitBytes: number;
  externalBytes: number;
}

export interface PluginShape {
  commands: string[];
  hasState: boolean;
  hasMigrate: boolean;
  hasHealth: boolean;
  hasConnect: boolean;
  hasDispose: boolean;
  hasConfigChanged: boolean;
}

/** What an old worker hands over at detach: a full state, or the changes since the pre-copy. */
export interface HandedState {
  state?: StateImage;
  delta?: StateImage;
}

/** Every management operation: its request payload and its response value. */
export interface ControlOps {
  /** Create or restore the state, run migrate and setup; the plugin then serves calls. */
  activate: {
    /**
     * state: a full snapshot; delta: changes to apply to the staged pre-copy (see stage);
     * handoff: the port on which the old worker posts { state } or { delta } (see detach), or
     * "staged": the one that came with stage.
     * health: run health() once setup() is done and report it (one round trip less in a reload's pause).
     */
    req: { state?: StateImage; delta?: StateImage; handoff?: MessagePort | 'staged'; fromVersion?: string; peers: PeerWiring[]; health?: boolean };
    res: { restoredState: boolean; health?: HealthReport; healthMs?: number };
  };
  ping: { req: null; res: null };
  /**
   * The ids of the host's calls this worker has not answered yet. Asked when a message from the
   * worker could not be read on the host ('messageerror'): replies posted before this answer have
   * arrived by then, so a call in neither is one whose reply was in the message lost.
   */
  unanswered: { req: null; res: number[] };
  /** The worker's own V8 heap and event-loop use (for metrics and monitors). */
  heap: { req: null; res: WorkerHeap };
  health: { req: null; res: HealthReport };
  /** Serialise ctx.state with node:v8, plain (what state files hold). */
  snapshot: { req: null; res: Uint8Array };
  dispose: { req: null; res: null };
  /**
   * Delta transfer, old worker: start tracking changes and return the full state. handoff: the
   * port the next detach posts on (see detach), given before the pause; dropped by resume.
   */
  precopy: { req: { handoff?: MessagePort }; res: StateImage };
  /**
   * Full transfer, old worker, before the pause: allocate (and touch) the buffers the snapshot will
   * copy the state's large typed arrays into, and keep `handoff` as precopy does. Released by
   * detach or resume.
   */
  reserve: { req: { handoff?: MessagePort }; res: null };
  /**
   * Delta transfer, new worker: keep the pre-copied state until activate brings the delta, and the
   * port the delta will come on (activate's handoff "staged").
   */
  stage: { req: { state: StateImage; handoff?: MessagePort }; res: null };
  /**
   * Delta transfer, new worker, in a rollback: the full state that came on the staged channel and no
   * activation took (the old worker sent it whole), so that a plugin whose old worker died meanwhile
   * restarts from it. Empty when none came, or only a delta.
   */
  unstage: { req: null; res: HandedState };
  /**
   * Freeze for a reload: hold dependents' channels, finish running commands, serialise the state
   * and release the client channels. `state`: what to hand over — "image" a full snapshot,
   * "delta" the changes since the pre-copy (a full snapshot when tracking cannot tell), "portable"
   * a plain node:v8 snapshot (to keep on disk), "none" nothing.
   */
  detach: {
    /**
     * handoff: post the HandedState there (to the new worker, see activate) rather than in the
     * answer; "prepared": on the port that came with precopy or reserve.
     */
    req: { state: 'image' | 'delta' | 'portable' | 'none'; handoff?: MessagePort | 'prepared' };
    res: HandedState & { ports: MessagePort[]; snapshotMs: number; stateBytes: number };
  };
  /** The reload rolled back: serve the held channels again. */
  resume: { req: null; res: null };
  /** A dependency channel was (re)made: replace the proxy's port. */
  rewirePeer: { req: PeerWiring; res: null };
  /** A dependent's channel to this plugin: serve the calls that arrive on it. */
  servePeer: { req: { port: MessagePort }; res: null };
  /** The plugin's config changed (validated on the host): configChanged(ctx, next), then ctx.config = next. */
  configure: { req: { config: unknown }; res: null };
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

export type HostToWorker = CallOrBatch | ControlRequest | AssignMessage;
/** Sent once by a plugin worker when the plugin first uses ctx.log (see PluginWorkerData.preloadLogger). */
export type LoggerUsedMessage = { t: 'logger' };

/**
 * A call to dependency `name` timed out in this worker. Calls between plugins bypass the host, so
 * without this the host would never check whether the dependency's event loop still answers.
 */
export type PeerTimeoutMessage = { t: 'peer-timeout'; name: string };

export type WorkerToHost = ReplyOrBatch | ControlResponse | LoadedMessage | LoggerUsedMessage | PeerTimeoutMessage;

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
  /** Where V8's compile cache lives, on Node versions that have module.enableCompileCache (22.1+). */
  v8CacheDir?: string;
  /**
   * The plugin's previous worker used ctx.log: create the logger during start-up. Otherwise it is
   * created on first use, which for a plugin logging in setup(), migrate() or health() would be
   * inside a reload's pause.
   */
  preloadLogger?: boolean;
}

/**
 * A spare worker, started before any plugin needs it (src/runtime/spare-workers.ts): it loads the
 * worker's own code and waits for an AssignMessage, which makes it a plugin worker.
 */
export interface SpareWorkerData {
  protocol: typeof PROTOCOL_VERSION;
  spare: true;
}

/** The first message to a spare worker: what it would have been started with. */
export interface AssignMessage {
  t: 'assign';
  data: PluginWorkerData;
}
