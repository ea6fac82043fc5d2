/**
 * Test helpers: supervisors closed after each test, plugin folders written into fresh temp folders.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { Supervisor, type SupervisorOptions, type SupervisorEventMap } from 'plugvisor';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');

/** A started supervisor rooted at the repository (or `root`), stopped when the test ends. */
export async function startSupervisor(t: TestContext, options: SupervisorOptions = {}): Promise<Supervisor> {
  const config = options.config ?? { log_level: 'silent' };
  const sup = new Supervisor({ root: REPO_ROOT, ...options, config });
  t.after(() => sup.stop());
  await sup.start();
  return sup;
}

/** Every temp folder this test file made: removed again when its process exits. */
const tempDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh temp folder, removed when the test ends, and again at exit: a test's later after-hooks
 * (a supervisor's stop, registered after the folder was made) may write into it once more, such as
 * a state backup.
 */
export function tempDir(t: TestContext, prefix = 'plugvisor-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface PluginFiles {
  [relativePath: string]: string | object;
}

/** Write a plugin folder: objects are written as JSON (package.json), strings as they are. */
export function writePlugin(dir: string, files: PluginFiles): string {
  for (const [rel, content] of Object.entries(files)) {
    const file = join(dir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

/** Copy a fixture plugin into `dir` (to edit it during a test). */
export function copyFixture(name: string, dir: string): string {
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

export function fixture(name: string): string {
  return join(FIXTURES, name);
}

/**
 * The next `event` the supervisor emits for `plugin`. One listener stays on until it matches:
 * events for several plugins emitted in the same tick are not missed.
 */
export function nextEvent<E extends keyof SupervisorEventMap>(sup: Supervisor, event: E, plugin: string): Promise<SupervisorEventMap[E][0]> {
  return new Promise((resolve) => {
    const listener = (payload: SupervisorEventMap[E][0]): void => {
      if (payload.plugin !== plugin) return;
      sup.off(event, listener as never);
      resolve(payload);
    };
    sup.on(event, listener as never);
  });
}

/**
 * Run `body` as an ES module in a child process of its own (a host with its own stdout and Node
 * flags); `Supervisor` is imported from the build. Resolves with its exit code and stdout.
 */
export async function runHostScript(t: TestContext, body: string, nodeArgs: string[] = []): Promise<{ code: number | null; stdout: string }> {
  const file = join(tempDir(t), 'host.mjs');
  const entry = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'index.js')).href;
  writeFileSync(file, `import { Supervisor } from ${JSON.stringify(entry)};\n${body}`);
  const child = spawn(process.execPath, [...nodeArgs, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout };
}

/**
 * A plugin ("slow-setup", command ping → 'pong') whose setup() holds its load open until the test
 * lets it go: it connects to a server of the test's and waits for the end. `setupRunning` resolves
 * with that connection once setup() runs; end() it to let the load finish.
 */
export async function heldSetupPlugin(t: TestContext): Promise<{ dir: string; setupRunning: Promise<[Socket]> }> {
  const gate = createServer();
  const setupRunning = once(gate, 'connection') as Promise<[Socket]>;
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => gate.close(resolve)));
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'slow-setup', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': `import { connect } from 'node:net';
export default {
  setup: () => new Promise((resolve, reject) => connect(${(gate.address() as AddressInfo).port}, '127.0.0.1').on('error', reject).on('close', resolve).resume()),
  commands: { ping: () => 'pong' },
};\n`,
  });
  return { dir, setupRunning };
}
