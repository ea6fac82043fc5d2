/**
 * The built package from a CommonJS host: `require('plugvisor')` and `require('plugvisor/dev-server')`
 * resolve through package.json "exports" (they need a "default" condition besides "import") and
 * load with Node's require(esm), which refuses a module graph with top-level await
 * (ERR_REQUIRE_ASYNC_MODULE). The script runs in a child process, in a project whose
 * node_modules/plugvisor links this checkout, as `npm install` would give a user.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createProject, removeProject } from './cli-helpers.js';

const echo = {
  'package.json': { name: 'echo', version: '1.0.0', type: 'module', main: 'index.js' },
  'index.js': 'export default { commands: { say: (ctx, text) => `echo: ${text}` } };\n',
};

const script = `'use strict';
const { Supervisor, definePlugin, ErrorCodes } = require('plugvisor');
const { createDevServer } = require('plugvisor/dev-server');
(async () => {
  const sup = new Supervisor({ root: __dirname, config: { log_level: 'silent' } });
  await sup.start();
  await sup.load('plugins/echo');
  const said = await sup.call('echo', 'say', 'hi');
  const server = await createDevServer(sup, { port: 0 });
  const health = (await fetch(server.url + '/healthz')).status;
  await server.close();
  await sup.stop();
  process.stdout.write(JSON.stringify({ said, health, definePlugin: typeof definePlugin, codes: Object.keys(ErrorCodes).length > 0 }));
})().catch((err) => {
  process.stderr.write(String(err.code) + ': ' + err.message + '\\n');
  process.exit(1);
});
`;

/** Run `file` with node in `cwd`; the child is killed when the test ends, should it still run. */
function runNode(t: TestContext, cwd: string, file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('a CommonJS script can require("plugvisor") and require("plugvisor/dev-server") and run a plugin', { timeout: 60_000 }, async (t) => {
  const dir = createProject('plugvisor-cjs-', { echo }, { plugins: [] });
  t.after(() => removeProject(dir));
  const file = join(dir, 'host.cjs');
  writeFileSync(file, script);
  const r = await runNode(t, dir, file);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { said: 'echo: hi', health: 200, definePlugin: 'function', codes: true });
});
