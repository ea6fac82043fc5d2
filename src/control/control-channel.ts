/**
 * A running host's control channel: the socket server, the handlers behind it, and what they
 * keep while the host runs (recent events, per-plugin watches). `plugvisor start` and
 * `plugvisor dev server` open one next to their Supervisor.
 */
import type { Supervisor } from '../supervisor.js';
import { PLUGVISOR_VERSION } from '../version.js';
import { createRequestHandler } from './control-handlers.js';
import { ControlServer } from './control-server.js';
import { EventHistory } from './event-history.js';
import { PluginWatches } from './plugin-watches.js';
import { CONTROL_PROTOCOL_VERSION, type ControlMethod, type HostStatus } from './protocol.js';

/** What a request may read of a host still starting: it, and the plugins loaded so far. */
const READ_WHILE_STARTING: ReadonlySet<ControlMethod> = new Set(['status', 'list', 'available']);

export class ControlChannel {
  /** The HTTP dev server's address, shown by `plugins status`. */
  httpUrl: string | undefined;
  /**
   * The file the host's config object was read from once at start (dev server --hot-reload): the
   * supervisor has no file then, yet `plugins status` must not say it runs on the defaults.
   */
  configReadOnceFrom: string | undefined;
  readonly #sup: Supervisor;
  readonly #startedAt = new Date();
  readonly #history: EventHistory;
  readonly #watches: PluginWatches;
  #server: ControlServer | undefined;
  #closing: Promise<void> | undefined;
  /** The supervisor's start while it runs: requests that need its plugins wait for it (see holdUntil). */
  #starting: Promise<void> | undefined;

  private constructor(sup: Supervisor) {
    this.#sup = sup;
    this.#history = new EventHistory(sup);
    this.#watches = new PluginWatches(sup, sup.log.child({ component: 'plugin-watch' }));
  }

  /** Open the project's control socket for `sup` (refused while another host answers on it). */
  static async open(sup: Supervisor): Promise<ControlChannel> {
    const channel = new ControlChannel(sup);
    const handle = createRequestHandler(sup, { watches: channel.#watches, history: channel.#history, status: () => channel.status() });
    try {
      channel.#server = await ControlServer.open({
        root: sup.root,
        log: sup.log,
        handle: async (method, params, stream) => {
          const starting = READ_WHILE_STARTING.has(method) ? undefined : channel.#starting;
          if (starting !== undefined) {
            sup.log.info({ method }, 'control request waits for the supervisor to finish starting (loading its configured plugins)');
            await starting;
          }
          return handle(method, params, stream);
        },
      });
    } catch (err) {
      await channel.close();
      throw err;
    }
    return channel;
  }

  /**
   * Hold every request but those that read the host and its list (READ_WHILE_STARTING) until
   * `start` settles. The socket opens before the supervisor
   * starts (a second host is refused before any plugin runs), and a script that runs
   * `plugvisor start &` and then `plugvisor plugins call` would otherwise meet a half-loaded
   * supervisor: PLUGVISOR_PLUGIN_NOT_FOUND for a plugin about to load. A start that fails answers
   * the held requests with its error.
   */
  holdUntil(start: Promise<void>): void {
    this.#starting = start;
    start.then(() => {
      if (this.#starting === start) this.#starting = undefined;
    }, () => undefined);
  }

  get socketPath(): string {
    return this.#server?.socketPath ?? '';
  }

  status(): HostStatus {
    const sup = this.#sup;
    return {
      protocol: CONTROL_PROTOCOL_VERSION,
      version: PLUGVISOR_VERSION,
      pid: process.pid,
      root: sup.root,
      configFile: sup.config.file ?? this.configReadOnceFrom,
      configReadOnce: sup.config.file === undefined && this.configReadOnceFrom !== undefined,
      socket: this.socketPath,
      startedAt: this.#startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.#startedAt.getTime()) / 100) / 10,
      developmentMode: sup.config.developmentMode,
      logLevel: sup.log.level,
      watching: sup.watcher !== undefined,
      automaticReload: sup.config.reload.automatic,
      pluginWatches: this.#watches.names(),
      httpUrl: this.httpUrl,
      starting: this.#starting !== undefined,
    };
  }

  /** Control requests being handled and not yet answered. */
  get inFlight(): number {
    return this.#server?.inFlight ?? 0;
  }

  /**
   * The first step of stopping: per-plugin watches end (no reload starts now), new requests get
   * PLUGVISOR_HOST_STOPPING, and the requests in flight run to their answer within `timeoutMs`.
   * Resolves with the number still unanswered.
   */
  async drain(timeoutMs: number): Promise<number> {
    const draining = this.#server?.drain(timeoutMs) ?? Promise.resolve(0);
    await this.#watches.close();
    return draining;
  }

  /** Stop answering, end streams and per-plugin watches, remove the socket. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#server?.close();
      await this.#watches.close();
      this.#history.close();
    })();
    return this.#closing;
  }

  /** At once, for a forced exit: connections cut, the socket and host.json removed. */
  destroy(): void {
    this.#server?.destroy();
  }
}
