/**
 * CLI test helpers: a project folder with plugins, a real host (`plugvisor start` or `dev server`)
 * spawned in it and killed when the test file ends, and the built CLI run against it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers.js';

export const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI in `cwd` and wait for it to exit. */
export function cli(cwd: string, args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`plugvisor ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON a `--json` command printed. */
export async function cliJson<T = any>(cwd: string, args: string[]): Promise<T> {
  const r = await cli(cwd, [...args, '--json']);
  if (r.code !== 0) throw new Error(`plugvisor ${args.join(' ')} --json exited with ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A long-running CLI process (host, --watch, monitor) whose output is read while it runs. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  #waiters: Array<() => void> = [];

  constructor(cwd: string, args: string[]) {
    this.child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv() });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      this.#notify();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      this.#notify();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => {
      this.#notify();
      resolve(code);
    }));
  }

  /** Wait until stdout (or stderr) matches `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this[stream].match(pattern);
      if (match !== null) return match;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no ${pattern} in ${stream} (exit ${this.child.exitCode})\nstdout: ${this.stdout.slice(-3000)}\nstderr: ${this.stderr.slice(-3000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Send a signal and wait for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** A host running in `dir` (`start` unless args say otherwise), ready once its plugins are loaded. */
export async function startHost(dir: string, args: string[] = ['start']): Promise<CliProcess> {
  const host = new CliProcess(dir, args);
  await host.waitFor(/"msg":"plugvisor started"/, 60_000);
  return host;
}

/**
 * A fresh project folder: the given plugins under plugins/, a config file loading them, and
 * node_modules/plugvisor linked to this checkout (what `npm install plugvisor` gives a user).
 */
export function createProject(prefix: string, plugins: Record<string, Record<string, string | object>>, config: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [name, files] of Object.entries(plugins)) {
    for (const [rel, content] of Object.entries(files)) {
      const file = join(dir, 'plugins', name, rel);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    }
  }
  mkdirSync(join(dir, 'config'), { recursive: true });
  const hotLoading = { log_level: 'info', plugins: Object.keys(plugins).map((name) => ({ path: `plugins/${name}` })), ...config };
  writeFileSync(join(dir, 'config', 'hot-loading.yaml'), JSON.stringify({ hot_loading: hotLoading }, null, 2));
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'plugvisor'), 'dir');
  return dir;
}

export function copyExamplePlugin(name: string, dir: string): void {
  cpSync(join(REPO_ROOT, 'plugins', name), join(dir, 'plugins', name), { recursive: true });
}

export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  // The CLI's own `dev plugin test` must not report to this test runner.
  delete env['NODE_TEST_CONTEXT'];
  return env;
}
