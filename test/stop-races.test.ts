import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSupervisor, tempDir } from './helpers.js';
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
  const after = await sup.call('versioned', 'get').then(() => 'answered', (err: { code?: string }) => err.code);
  assert.equal(after, 'PLUGVISOR_PLUGIN_NOT_FOUND');
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
