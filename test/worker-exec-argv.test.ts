import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workerExecArgv } from '../src/runtime/worker-exec-argv.js';

test('plugin workers do not inherit TypeScript loaders or --input-type, and keep other flags', () => {
  assert.deepEqual(workerExecArgv(['--import', 'tsx', '--enable-source-maps', '--input-type=module', '--max-old-space-size=512']), ['--enable-source-maps', '--max-old-space-size=512']);
  assert.deepEqual(workerExecArgv(['--import=file:///x/node_modules/tsx/dist/loader.mjs', '--require', './setup.cjs']), ['--require', './setup.cjs']);
  assert.deepEqual(workerExecArgv(['--loader', 'ts-node/esm', '--inspect']), ['--inspect']);
});
