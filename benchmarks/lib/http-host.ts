/**
 * The process-restart comparison of the reload scope: a child process running hosts/http-host.mjs
 * (a Supervisor with one plugin behind a local HTTP server), and an HTTP client that keeps calling
 * it while the benchmark restarts the process or hot reloads the plugin.
 *
 * Downtime is the longest time without a successful answer around one operation: from the last
 * answer before it (or its start) to the first answer after it ends. With 4 clients calling in a
 * loop, answers normally arrive every fraction of a millisecond.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { DIST_ENTRY_URL } from './plugvisor.js';

const HOST_SCRIPT = new URL('../hosts/http-host.mjs', import.meta.url);
const READY_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 30_000;

export interface HostProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
}

/** Spawn the host and wait until it serves (it prints "ready PORT"). */
export async function startHost(root: string, pluginDir: string, port: number): Promise<HostProcess> {
  const child = spawn(process.execPath, [HOST_SCRIPT.pathname], {
    env: { ...process.env, PLUGVISOR_DIST_ENTRY: DIST_ENTRY_URL, HOST_ROOT: root, HOST_PLUGIN_DIR: pluginDir, HOST_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit').then(() => undefined);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-2000)));
  const lines = createInterface({ input: child.stdout! });
  try {
    const ready = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`http host did not get ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      lines.on('line', (line) => {
        const m = /^ready (\d+)$/.exec(line);
        if (m !== null) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`http host exited before it was ready (code ${child.exitCode}): ${stderr.trim()}`));
      });
    });
    return { child, port: ready, exited };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** SIGTERM (graceful: the host drains, writes its state backup, exits); SIGKILL if it hangs. */
export async function stopHost(host: HostProcess): Promise<void> {
  if (host.child.exitCode !== null || host.child.signalCode !== null) return;
  host.child.kill('SIGTERM');
  const timer = setTimeout(() => host.child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
  await host.exited;
  clearTimeout(timer);
}

/** One GET or POST; rejects on a network error, a non-200 status or after 10 s. */
export function httpJson(port: number, method: 'GET' | 'POST', path: string, agent?: Agent): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: agent ?? false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${text}`));
        else resolve(JSON.parse(text));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export interface OperationImpact {
  /** Longest time without a successful answer, from the last answer before the operation to the first one after it. */
  downtimeMs: number;
  /** Calls that failed (refused, reset, 5xx) while the operation ran. */
  failed: number;
  /** The slowest successful call that settled meanwhile. */
  worstLatencyMs: number;
}

/**
 * `clients` loops calling GET /rec?c=&s= over keep-alive connections, each issuing its next call as
 * soon as the last settles; after a failure a loop waits RETRY_DELAY_MS (a client's usual back-off)
 * rather than spin on refused connections.
 */
export class HttpLoad {
  static readonly RETRY_DELAY_MS = 5;
  readonly #agent: Agent;
  readonly #clients: number;
  #port: number;
  #running = false;
  #loops: Array<Promise<void>> = [];
  #lastOkAt = 0;
  #observing = false;
  #gapMax = 0;
  #failedInWindow = 0;
  #worstInWindow = 0;
  #afterEnd: { at: number; resolve: () => void } | undefined;
  ok = 0;
  failed = 0;
  readonly errors = new Map<string, number>();

  constructor(port: number, clients: number) {
    this.#port = port;
    this.#clients = clients;
    this.#agent = new Agent({ keepAlive: true, maxSockets: clients });
  }

  start(): void {
    this.#running = true;
    this.#lastOkAt = performance.now();
    for (let c = 0; c < this.#clients; c++) this.#loops.push(this.#loop(c));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    this.#agent.destroy();
  }

  /** Start watching an operation. */
  begin(): void {
    this.#observing = true;
    this.#gapMax = 0;
    this.#failedInWindow = 0;
    this.#worstInWindow = 0;
  }

  /** The operation is over: wait for the first successful answer after it, then report. */
  async end(): Promise<OperationImpact> {
    await new Promise<void>((resolve) => (this.#afterEnd = { at: performance.now(), resolve }));
    this.#observing = false;
    return { downtimeMs: this.#gapMax, failed: this.#failedInWindow, worstLatencyMs: this.#worstInWindow };
  }

  async #loop(c: number): Promise<void> {
    for (let s = 0; this.#running; s++) {
      const t0 = performance.now();
      try {
        await httpJson(this.#port, 'GET', `/rec?c=${c}&s=${s}`, this.#agent);
        const now = performance.now();
        this.ok++;
        if (this.#observing) {
          this.#gapMax = Math.max(this.#gapMax, now - this.#lastOkAt);
          this.#worstInWindow = Math.max(this.#worstInWindow, now - t0);
          if (this.#afterEnd !== undefined && t0 >= this.#afterEnd.at) {
            this.#afterEnd.resolve();
            this.#afterEnd = undefined;
          }
        }
        this.#lastOkAt = now;
      } catch (err) {
        this.failed++;
        if (this.#observing) this.#failedInWindow++;
        const key = (err as { code?: string }).code ?? (err as Error).message.slice(0, 60);
        this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
        await sleep(HttpLoad.RETRY_DELAY_MS);
      }
    }
  }
}
