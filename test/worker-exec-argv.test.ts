import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { withoutTypeScriptLoaders, workerExecArgv } from '../src/runtime/worker-exec-argv.js';
import { fixture, REPO_ROOT, runHostScript, tempDir } from './helpers.js';

test('plugin workers do not inherit TypeScript loaders or --input-type, and keep other flags', () => {
  assert.deepEqual(withoutTypeScriptLoaders(['--import', 'tsx', '--enable-source-maps', '--input-type=module', '--max-old-space-size=512']), ['--enable-source-maps', '--max-old-space-size=512']);
  assert.deepEqual(withoutTypeScriptLoaders(['--import=file:///x/node_modules/tsx/dist/loader.mjs', '--require', './setup.cjs']), ['--require', './setup.cjs']);
  assert.deepEqual(withoutTypeScriptLoaders(['--loader', 'ts-node/esm', '--inspect']), ['--inspect']);
});

test('plugin workers leave out the flags Node refuses per worker (V8 and process-wide flags), with their values', () => {
  assert.deepEqual(
    workerExecArgv(['--max-old-space-size=512', '--enable-source-maps', '--stack-size', '900', '--conditions', 'development', '--expose-gc', '--title=host', '--import', 'tsx', '--no-warnings']),
    ['--enable-source-maps', '--conditions', 'development', '--no-warnings'],
  );
});

test('a host run with V8 and process-wide flags starts plugin workers and pools', async (t) => {
  const dir = tempDir(t);
  const { code, stdout } = await runHostScript(t, `const sup = new Supervisor({ root: ${JSON.stringify(dir)}, config: { log_level: 'silent' } });
try {
  await sup.start();
  await sup.load(${JSON.stringify(join(REPO_ROOT, 'plugins', 'counter'))});
  await sup.load(${JSON.stringify(fixture('pool-basic'))});
  console.log(JSON.stringify({ count: await sup.call('counter', 'increment', 2), echo: await sup.call('pool-basic', 'echo', 'pooled') }));
} catch (err) {
  console.log(JSON.stringify({ code: err.code, message: err.message }));
} finally {
  await sup.stop();
}
`, ['--max-old-space-size=256', '--stack-size=900', '--expose-gc']);
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(stdout), { count: 2, echo: 'pooled' });
});
