/**
 * `plugvisor dev plugin test NAME`: runs a plugin's own tests with `node --test` in its folder.
 * Test files: *.test.{mjs,js,cjs} (and *.test.{ts,mts} when tsx is installed for the project)
 * anywhere in the plugin folder but node_modules. 'plugvisor' resolves to the installed package,
 * or to the plugvisor running the tests (register-plugvisor.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlugvisorError } from '../errors.js';
import { pluginFiles } from '../diagnose/plugin-files.js';

const JS_TEST = /\.test\.[cm]?js$/;
const TS_TEST = /\.test\.[cm]?ts$/;
const REGISTER = fileURLToPath(new URL('./register-plugvisor.js', import.meta.url));

export interface TestPlan {
  dir: string;
  files: string[];
  /** Extra node flags: the plugvisor resolver, tsx for TypeScript tests. */
  nodeArgs: string[];
  /** TypeScript test files left out because tsx is not installed. */
  skipped: string[];
}

export function planTests(dir: string, root: string): TestPlan {
  const all = pluginFiles(dir).filter((f) => JS_TEST.test(f) || TS_TEST.test(f)).sort();
  const tsx = resolveFrom([dir, root], 'tsx');
  const files = all.filter((f) => JS_TEST.test(f) || tsx !== undefined);
  const skipped = all.filter((f) => !files.includes(f));
  if (files.length === 0) {
    const why = skipped.length > 0 ? ` (${skipped.map((f) => relative(dir, f)).join(', ')} need tsx: npm install -D tsx)` : '';
    throw new PlugvisorError('PLUGVISOR_TESTS_FAILED', `no test files in ${dir}: expected *.test.mjs, *.test.js or *.test.ts${why}`, { file: dir });
  }
  const nodeArgs = ['--import', REGISTER];
  if (tsx !== undefined && files.some((f) => TS_TEST.test(f))) nodeArgs.push('--import', 'tsx');
  return { dir, files, nodeArgs, skipped };
}

/** Run the tests once, output to this terminal; resolves the exit code. */
export function runTests(plan: TestPlan, onSpawn?: (child: ChildProcess) => void): Promise<number> {
  // Under a test runner itself, node would report to it in its own format: these are the user's tests.
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...plan.nodeArgs, '--test', ...plan.files.map((f) => relative(plan.dir, f))], {
      cwd: plan.dir,
      stdio: 'inherit',
      env,
    });
    onSpawn?.(child);
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

function resolveFrom(dirs: string[], pkg: string): string | undefined {
  for (const dir of dirs) {
    try {
      return createRequire(join(dir, 'noop.js')).resolve(pkg);
    } catch {
      // next
    }
  }
  return undefined;
}
