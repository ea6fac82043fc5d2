/**
 * One plugin worker seen from the host: starts it, posts calls (batched per tick), answers
 * management requests, and reports an unexpected death once, with its reason. It keeps no call
 * bookkeeping of its own: the plugin runtime owns the pending calls, so that calls survive the
 * worker they were queued for.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { PlugvisorError } from '../errors.js';
import type { AssignMessage, CallMessage, ControlOp, ControlOps, ControlResponse, ErrMessage, OkMessage, PluginShape, PluginWorkerData, WorkerToHost } from '../protocol/messages.js';
import { Outbox } from '../protocol/outbox.js';
import { fromWireError } from '../protocol/wire-error.js';
import { asError, crashedError, type WorkerDeath } from './crash.js';
import { PLUGIN_WORKER_URL } from './worker-url.js';
import { timerDelay } from '../timer-delay.js';

export interface WorkerTransportOptions {
  workerData: PluginWorkerData;
  resourceLimits: ResourceLimits;
  startTimeoutMs: number;
  execArgv?: string[];
  /** A spare worker of the same resourceLimits and execArgv, to use instead of starting one. */
  prestarted?: Worker;
  onReply(reply: OkMessage | ErrMessage): void;
  onCloneError(call: CallMessage, err: unknown): void;
  /** The worker died without being asked to: called once. */
  onDeath(death: WorkerDeath): void;
  /** A message that is not plugvisor's (the plugin posted on parentPort): dropped. */
  onStrayMessage?(message: unknown): void;
  /** The plugin used ctx.log for the first time in this worker. */
  onLoggerUsed?(): void;
  /** A call of this worker's plugin to its dependency `name` timed out. */
  onPeerTimeout?(name: string): void;
  /** A message from the worker could not be deserialised on the host (a reply nested too deeply, say): it is lost. */
  onMessageError?(err: Error): void;
}

interface PendingControl {
  op: ControlOp;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class WorkerTransport {
  readonly generation: number;
  readonly plugin: string;
  readonly #worker: Worker;
  readonly #outbox: Outbox<CallMessage>;
  readonly #control = new Map<number, PendingControl>();
  readonly #options: WorkerTransportOptions;
  #nextControlId = 1;
  #shape: PluginShape | undefined;
  #dead: WorkerDeath | undefined;
  #terminating = false;
  #lastError: Error | undefined;
  #exited: Promise<void>;

  private constructor(options: WorkerTransportOptions) {
    this.#options = options;
    this.generation = options.workerData.generation;
    this.plugin = options.workerData.plugin;
    if (options.prestarted !== undefined) {
      this.#worker = options.prestarted;
      try {
        this.#worker.postMessage({ t: 'assign', data: options.workerData } satisfies AssignMessage);
      } catch (err) {
        void this.#worker.terminate();
        throw err;
      }
    } else {
      this.#worker = new Worker(PLUGIN_WORKER_URL, {
        workerData: options.workerData,
        resourceLimits: options.resourceLimits,
        execArgv: options.execArgv,
        name: `plugvisor:${options.workerData.plugin}#${options.workerData.generation}`,
      });
    }
    this.#outbox = new Outbox<CallMessage>(this.#worker, options.onCloneError);
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
  }

  /** Start a worker and wait until it has imported the plugin, reported its shape and answered once. */
  static async start(options: WorkerTransportOptions): Promise<WorkerTransport> {
    const t = new WorkerTransport(options);
    await t.#waitLoaded();
    // A new thread's first message costs 1-2 ms of lazy compilation on its side. Pay it here, so
    // that it does not land inside a reload's pause (the activation is the next message).
    await t.control('ping', null, options.startTimeoutMs).catch(async (err: Error) => {
      await t.terminate();
      throw err;
    });
    return t;
  }

  get shape(): PluginShape {
    if (this.#shape === undefined) throw new Error('worker not loaded');
    return this.#shape;
  }

  get alive(): boolean {
    return this.#dead === undefined && !this.#terminating;
  }

  get threadId(): number {
    return this.#worker.threadId;
  }

  send(call: CallMessage): void {
    this.#outbox.push(call);
  }

  /** A management request with its own timeout; rejects with the worker's error or a crash. */
  control<K extends ControlOp>(op: K, payload: ControlOps[K]['req'], timeoutMs: number, transfer?: readonly any[]): Promise<ControlOps[K]['res']> {
    if (this.#dead !== undefined) return Promise.reject(crashedError(this.plugin, this.#dead, op));
    // Ended on purpose (say, by a rollback while a request was being prepared): nothing will answer.
    if (this.#terminating) return Promise.reject(crashedError(this.plugin, { reason: 'exit' }, op));
    const id = this.#nextControlId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#control.delete(id);
        reject(new PlugvisorError('PLUGVISOR_CALL_TIMEOUT', `plugin "${this.plugin}": ${op} did not answer within ${timeoutMs} ms`, { plugin: this.plugin, op }));
      }, timerDelay(timeoutMs));
      this.#control.set(id, { op, resolve: resolve as (v: unknown) => void, reject, timer });
      // Management requests overtake nothing: flush the calls posted before them first.
      this.#outbox.flush();
      try {
        this.#worker.postMessage({ t: 'req', id, op, p: payload }, transfer);
      } catch (err) {
        // Not sent (a payload that cannot be cloned, a port already closed): nothing will answer.
        clearTimeout(timer);
        this.#control.delete(id);
        reject(err);
      }
    });
  }

  /** True when the worker's event loop answers within timeoutMs. */
  async ping(timeoutMs: number): Promise<boolean> {
    try {
      await this.control('ping', null, timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  /** Stop the worker on purpose: no death is reported. */
  async terminate(): Promise<void> {
    this.#terminating = true;
    this.#outbox.flush();
    await this.#worker.terminate();
    this.#failControl({ reason: 'exit' });
  }

  /** Kill a worker that misbehaves: reported as a death with this reason. */
  kill(reason: WorkerDeath['reason']): void {
    if (this.#dead !== undefined || this.#terminating) return;
    this.#die({ reason });
    void this.#worker.terminate();
  }

  /** Resolves once the worker thread has ended. */
  exited(): Promise<void> {
    return this.#exited;
  }

  #waitLoaded(): Promise<void> {
    const { startTimeoutMs } = this.#options;
    return new Promise((resolve, reject) => {
      const fail = (err: PlugvisorError): void => {
        clearTimeout(timer);
        this.#terminating = true;
        void this.#worker.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new PlugvisorError('PLUGVISOR_PLUGIN_LOAD_FAILED',
        `plugin "${this.plugin}": its worker did not load within ${startTimeoutMs} ms`, { plugin: this.plugin })), timerDelay(startTimeoutMs));
      const onEarlyError = (err: Error): void => {
        this.#lastError = err;
      };
      const onEarlyExit = (code: number): void => {
        const why = this.#lastError ? `died while loading: ${this.#lastError.message}` : `exited with code ${code} while loading`;
        fail(new PlugvisorError('PLUGVISOR_PLUGIN_LOAD_FAILED', `plugin "${this.plugin}": its worker ${why}`, {
          plugin: this.plugin, file: this.#options.workerData.entryFile, cause: this.#lastError,
        }));
      };
      this.#worker.on('error', onEarlyError);
      this.#worker.once('exit', onEarlyExit);
      // The plugin's module runs before the worker reports: what it posts on parentPort meanwhile
      // is dropped like any stray message, and a forged report cannot throw here.
      const onMessage = (msg: WorkerToHost | null | undefined): void => {
        const outcome = loadOutcome(msg, this.plugin);
        if (outcome === undefined) {
          this.#options.onStrayMessage?.(msg);
          return;
        }
        this.#worker.off('message', onMessage);
        this.#worker.off('error', onEarlyError);
        this.#worker.off('exit', onEarlyExit);
        if (outcome instanceof Error) {
          fail(outcome);
          return;
        }
        clearTimeout(timer);
        this.#shape = outcome;
        this.#listen();
        resolve();
      };
      this.#worker.on('message', onMessage);
    });
  }

  #listen(): void {
    // Plugin code shares the thread and can post on parentPort itself: what plugvisor cannot read
    // is dropped, never thrown on the host's thread.
    this.#worker.on('message', (msg: WorkerToHost | null | undefined) => {
      let routed = false;
      try {
        routed = this.#route(msg);
      } catch { /* malformed: a t of ours without the fields */ }
      if (!routed) this.#options.onStrayMessage?.(msg);
    });
    this.#worker.on('messageerror', (err: Error) => this.#options.onMessageError?.(err));
    // The death is reported at 'exit', not at 'error': Node delivers a worker's uncaught error on
    // a port of its own, which can overtake replies the worker posted just before it, and only
    // drains those replies when the thread has ended. Answered calls must not fail as crashed.
    let death: WorkerDeath | undefined;
    this.#worker.on('error', (thrown: unknown) => {
      const err = asError(thrown);
      this.#lastError = err;
      death ??= { reason: err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'uncaught', error: err };
    });
    this.#worker.on('exit', (exitCode) => {
      this.#die(death ?? { reason: 'exit', exitCode });
    });
  }

  /** False for a message that is not plugvisor's. */
  #route(msg: WorkerToHost | null | undefined): boolean {
    switch (msg?.t) {
      case 'ok':
      case 'err':
        this.#options.onReply(msg);
        return true;
      case 'batch':
        for (const m of msg.m) this.#options.onReply(m);
        return true;
      case 'res':
        this.#settleControl(msg);
        return true;
      case 'logger':
        this.#options.onLoggerUsed?.();
        return true;
      case 'peer-timeout':
        this.#options.onPeerTimeout?.(msg.name);
        return true;
      default:
        return false;
    }
  }

  #die(death: WorkerDeath): void {
    if (this.#dead !== undefined || this.#terminating) return;
    this.#dead = death;
    this.#failControl(death);
    this.#options.onDeath(death);
  }

  #settleControl(msg: ControlResponse): void {
    const pending = this.#control.get(msg.id);
    if (pending === undefined) return;
    // Read before the request is taken: a malformed error (the plugin can post on parentPort) throws
    // here and is dropped as a stray message, leaving the request to its answer or its timeout.
    const err = msg.ok ? undefined : fromWireError(msg.e, 'PLUGVISOR_COMMAND_FAILED', { plugin: this.plugin, op: pending.op });
    this.#control.delete(msg.id);
    clearTimeout(pending.timer);
    if (msg.ok) pending.resolve(msg.v);
    else pending.reject(err!);
  }

  #failControl(death: WorkerDeath): void {
    for (const [id, pending] of this.#control) {
      this.#control.delete(id);
      clearTimeout(pending.timer);
      pending.reject(crashedError(this.plugin, death, pending.op));
    }
  }
}

/** The worker's report of its load: the plugin's shape, its load error, or undefined for anything else. */
function loadOutcome(msg: WorkerToHost | null | undefined, plugin: string): PluginShape | PlugvisorError | undefined {
  try {
    if (msg?.t === 'loaded' && Array.isArray(msg.shape?.commands)) return msg.shape;
    if (msg?.t === 'load-failed' && typeof msg.e?.message === 'string') {
      return fromWireError(msg.e, 'PLUGVISOR_PLUGIN_LOAD_FAILED', { plugin }) as PlugvisorError;
    }
  } catch { /* malformed: a t of ours without its fields */ }
  return undefined;
}
