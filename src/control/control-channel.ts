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
import { CONTROL_PROTOCOL_VERSION, type HostStatus } from './protocol.js';

export class ControlChannel {
  /** The HTTP dev server's address, shown by `plugins status`. */
  httpUrl: string | undefined;
  readonly #sup: Supervisor;
  readonly #startedAt = new Date();
  readonly #history: EventHistory;
  readonly #watches: PluginWatches;
  #server: ControlServer | undefined;
  #closing: Promise<void> | undefined;

  private constructor(sup: Supervisor) {
    this.#sup = sup;
    this.#history = new EventHistory(sup);
    this.#watches = new PluginWatches(sup, sup.log.child({ component: 'plugin-watch' }));
  }

  /** Open the project's control socket for `sup` (refused while another host answers on it). */
  static async open(sup: Supervisor): Promise<ControlChannel> {
    const channel = new ControlChannel(sup);
    try {
      channel.#server = await ControlServer.open({
        root: sup.root,
        log: sup.log,
        handle: createRequestHandler(sup, { watches: channel.#watches, history: channel.#history, status: () => channel.status() }),
      });
    } catch (err) {
      await channel.close();
      throw err;
    }
    return channel;
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
      configFile: sup.config.file,
      socket: this.socketPath,
      startedAt: this.#startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.#startedAt.getTime()) / 100) / 10,
      developmentMode: sup.config.developmentMode,
      logLevel: sup.log.level,
      watching: sup.watcher !== undefined,
      automaticReload: sup.config.reload.automatic,
      pluginWatches: this.#watches.names(),
      httpUrl: this.httpUrl,
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
