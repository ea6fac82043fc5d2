import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSupervisor, tempDir, writePlugin } from './helpers.js';
import { writeVersioned } from './reload-helpers.js';

test('delta transfer, state sent whole (not trackable): a dependent whose old worker dies after its detach restarts from the snapshot when the reload then fails', async (t) => {
  const root = tempDir(t);
  const lib = writeVersioned(join(root, 'lib'), { version: '1.0.0', name: 'lib' });
  // A getter makes the state untrackable: the detach sends it whole, as a full image. The second
  // serialisation after arm() (the pre-copy is the first, the detach the second) ends the worker
  // just after the detach answered.
  const pkg = (version: string) => ({ name: 'app', version, type: 'module', main: 'index.js', plugvisor: { stateTransfer: 'delta', dependsOn: { lib: '^1.0.0' } } });
  const code = (version: string) => `let reads = 0;
  export default {
    state: () => ({ count: 0, get boom() { if (globalThis.armed && ++reads === 2) setTimeout(() => process.exit(9), 0); return 0; } }),
    commands: { inc(ctx) { return ++ctx.state.count; }, get(ctx) { return ctx.state.count; }, arm() { globalThis.armed = true; return true; }, v: () => '${version}' },
  };`;
  const app = writePlugin(join(root, 'app'), { 'package.json': pkg('1.0.0'), 'index.js': code('1.0.0') });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', reload: { timeout: 1 }, plugins: [{ path: lib }, { path: app }] } });
  for (let i = 0; i < 3; i++) await sup.call('app', 'inc');
  await sup.call('app', 'arm');
  // lib's detach waits for this command until reload.timeout: the reload fails after app's detach.
  const held = sup.call('lib', 'hold');
  writeVersioned(lib, { version: '1.0.1', name: 'lib' });
  writePlugin(app, { 'package.json': pkg('1.0.1'), 'index.js': code('1.0.1') });
  const restarted = new Promise((resolve) => sup.on('restart', (e: { plugin: string }) => e.plugin === 'app' && resolve(e)));
  const r = await sup.reload('lib');
  assert.equal(r.ok, false);
  assert.equal(r.error?.code, 'PLUGVISOR_RELOAD_TIMEOUT');
  await sup.call('lib', 'release');
  await held;
  await restarted;
  assert.equal(await sup.call('app', 'v'), '1.0.0');
  assert.equal(await sup.call('app', 'get'), 3, 'the old worker handed its whole state over before it died: the restart starts from it');
});
