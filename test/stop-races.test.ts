import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { startSupervisor, tempDir, writePlugin } from './helpers.js';
import { setupGate, writeVersioned } from './reload-helpers.js';

function activeMessagePorts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
}

test('a load still running when stop() is called: stop waits for it and ends the plugin it loaded', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
  const portsBefore = activeMessagePorts();
  const sup = await startSupervisor(t);
  const loading = sup.load(dir).then((info) => info.status, (err: { code?: string }) => err.code);
  await sup.stop();
  await loading;
  // No worker outlives the stop, and nothing answers for the plugin any more.
  assert.equal(activeMessagePorts(), portsBefore);
  assert.deepEqual(sup.list(), []);
  const after = await sup.call('versioned', 'get').then(() => 'answered', (err: { code?: string; message: string }) => `${err.code}: ${err.message}`);
  assert.equal(after, 'PLUGVISOR_PLUGIN_NOT_FOUND: no plugin named "versioned" is loaded (the supervisor is stopped)');
});

test('a reload in its pause when stop() is called: stop waits for the swap and ends the new worker too', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
  const portsBefore = activeMessagePorts();
  const sup = await startSupervisor(t);
  await sup.load(dir);
  // The new version's setup() (inside the pause) says where it is and waits for the test.
  const gate = setupGate(t);
  writeVersioned(dir, { version: '1.1.0', prelude: gate.prelude, hooks: gate.hooks });
  const reloading = sup.reload('versioned');
  await gate.reached;
  const stopping = sup.stop();
  gate.release();
  await stopping;
  const r = await reloading;
  assert.equal(r.ok, true, r.error?.message);
  assert.equal(activeMessagePorts(), portsBefore);
  assert.deepEqual(sup.list(), []);
});

test('stop() says unload for every plugin it ends, dependents before their dependencies', async (t) => {
  const root = tempDir(t);
  const base = writeVersioned(join(root, 'base'), { version: '1.0.0' });
  const user = writePlugin(join(root, 'user'), {
    'package.json': { name: 'user', version: '2.0.0', type: 'module', main: 'index.ts', plugvisor: { dependsOn: { versioned: '^1.0.0' } } },
    'index.ts': 'export default { commands: { ping: () => "pong" } };\n',
  });
  const sup = await startSupervisor(t);
  await sup.load(base);
  await sup.load(user);
  const unloads: Array<{ plugin: string; version: string }> = [];
  sup.on('unload', (e) => unloads.push(e));
  await sup.stop();
  assert.deepEqual(unloads, [{ plugin: 'user', version: '2.0.0' }, { plugin: 'versioned', version: '1.0.0' }]);
});
