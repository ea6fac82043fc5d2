/**
 * Supervision (issue #2): restart intensity, back-off between restarts, and the state a restarted
 * plugin starts from.
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Supervisor, SupervisorEventMap } from 'plugvisor';
import { assertError, rejectionOf } from './expect.js';
import { copyFixture, nextEvent, startSupervisor, tempDir, writePlugin } from './helpers.js';

type RestartEvent = SupervisorEventMap['restart'][0];

const PLUGIN = 'crashes-on-every-call';

/** Call the plugin once: the call fails with the crash, and the crash event follows. */
async function crashOnce(sup: Supervisor): Promise<void> {
  const crashed = nextEvent(sup, 'crash', PLUGIN);
  const err = await rejectionOf(sup.call(PLUGIN, 'work'));
  assertError(err, 'PLUGVISOR_PLUGIN_CRASHED', PLUGIN);
  assert.equal(err['reason'], 'exit');
  assert.equal((await crashed).reason, 'exit');
}

/** Crash the plugin, and wait until it has been restarted. */
async function crashAndRestart(sup: Supervisor): Promise<RestartEvent> {
  const restarted = nextEvent(sup, 'restart', PLUGIN);
  await crashOnce(sup);
  return restarted;
}

test('more than maxRestarts crashes in the window mark the plugin failed; its calls then fail at once', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  await sup.load(`test/fixtures/${PLUGIN}`); // maxRestarts: 2
  const restarts: RestartEvent[] = [];
  sup.on('restart', (event) => restarts.push(event));

  await crashAndRestart(sup);
  assert.equal(await sup.call('counter', 'increment', 1), 1);
  await crashAndRestart(sup);
  assert.equal(await sup.call('counter', 'increment', 1), 2);
  await crashOnce(sup); // the third crash: no third restart

  const info = sup.info(PLUGIN);
  assert.equal(info.status, 'failed');
  assert.equal(info.stats.restarts, 2);
  assert.match(info.error ?? '', /restart/);
  assert.deepEqual(restarts.map((r) => [r.plugin, r.attempt, r.generation]), [[PLUGIN, 1, 2], [PLUGIN, 2, 3]]);

  const failed = await rejectionOf(sup.call(PLUGIN, 'work'));
  assertError(failed, 'PLUGVISOR_PLUGIN_FAILED', PLUGIN);
  assert.equal(failed['plugin'], PLUGIN);
  assertError(await rejectionOf(sup.plugin(PLUGIN)['work']!()), 'PLUGVISOR_PLUGIN_FAILED');
  // Failed at once: nothing was sent, nothing waits.
  assert.equal(sup.info(PLUGIN).stats.pending, 0);
  assert.equal(sup.info(PLUGIN).generation, 3);

  // The neighbour never noticed.
  assert.equal(await sup.call('counter', 'increment', 1), 3);
  assert.equal(sup.info('counter').status, 'serving');
  assert.equal(sup.info('counter').generation, 1);
  assert.equal(restarts.length, 2);
});

test('restart delays back off: the first is immediate, then backoffInitialMs, doubling up to backoffMaxMs', async (t) => {
  const dir = copyFixture(PLUGIN, tempDir(t));
  const manifestFile = join(dir, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  manifest.plugvisor.restart = { maxRestarts: 4, windowSeconds: 60, backoffInitialMs: 20, backoffMaxMs: 50 };
  writeFileSync(manifestFile, JSON.stringify(manifest));

  const sup = await startSupervisor(t);
  await sup.load(dir);
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) delays.push((await crashAndRestart(sup)).delayMs);
  assert.deepEqual(delays, [0, 20, 40, 50]);

  await crashOnce(sup);
  assert.equal(sup.info(PLUGIN).status, 'failed');
  assertError(await rejectionOf(sup.call(PLUGIN, 'work')), 'PLUGVISOR_PLUGIN_FAILED');
});

test('a restarted plugin starts from state(), and the restart event says fresh', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('test/fixtures/exits-mid-call');
  for (let i = 1; i <= 3; i++) assert.equal(await sup.call('exits-mid-call', 'increment'), i);

  const restarted = nextEvent(sup, 'restart', 'exits-mid-call');
  assertError(await rejectionOf(sup.call('exits-mid-call', 'exit', 1)), 'PLUGVISOR_PLUGIN_CRASHED');
  const restart = await restarted;
  assert.equal(restart.state, 'fresh');
  assert.equal(restart.generation, 2);

  assert.equal(await sup.call('exits-mid-call', 'get'), 0);
  assert.equal(await sup.call('exits-mid-call', 'increment'), 1);
});

test('calls issued while a plugin restarts wait for the new worker and are answered in order', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('test/fixtures/exits-mid-call');
  const restarted = nextEvent(sup, 'restart', 'exits-mid-call');
  const waiting: Array<Promise<number>> = [];
  sup.on('crash', () => {
    // The plugin is down now: these calls are held until it serves again.
    for (let i = 0; i < 5; i++) waiting.push(sup.call('exits-mid-call', 'increment'));
  });
  assertError(await rejectionOf(sup.call('exits-mid-call', 'exit', 1)), 'PLUGVISOR_PLUGIN_CRASHED');
  await restarted;
  assert.deepEqual(await Promise.all(waiting), [1, 2, 3, 4, 5]);
});

test('stopping the supervisor while a plugin restarts ends the restarted worker too', async (t) => {
  const handlesBefore = activeMessagePorts();
  const sup = await startSupervisor(t);
  await sup.load('test/fixtures/exits-mid-call');
  const crashed = nextEvent(sup, 'crash', 'exits-mid-call');
  assertError(await rejectionOf(sup.call('exits-mid-call', 'exit', 1)), 'PLUGVISOR_PLUGIN_CRASHED');
  await crashed;
  // The first restart is due at once: a timer armed after it fires after it, so the restart has begun.
  await new Promise((resolve) => setTimeout(resolve, 0));
  await sup.stop();
  // Every worker's port is closed once stop() resolves: no restarted worker outlives the supervisor.
  assert.equal(activeMessagePorts(), handlesBefore);
  assertError(await rejectionOf(sup.call('exits-mid-call', 'get')), 'PLUGVISOR_PLUGIN_NOT_FOUND');
});

function activeMessagePorts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
}

test('a failed plugin whose reload fails to start stays failed: its next call fails at once, never sent to the dead worker', { timeout: 20_000 }, async (t) => {
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'dies', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { restart: { maxRestarts: 0, windowSeconds: 60 }, limits: { callTimeoutMs: 10_000 } } },
    'index.js': 'export default { commands: { die: () => process.exit(3), v: () => 1 } };',
  });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  assertError(await rejectionOf(sup.call('dies', 'die')), 'PLUGVISOR_PLUGIN_CRASHED');
  assert.equal(sup.info('dies').status, 'failed');
  writeFileSync(join(dir, 'index.js'), `export default { setup() { throw new Error('still broken'); }, commands: { v: () => 2 } };`);
  const r = await sup.reload('dies');
  assert.equal(r.ok, false);
  assert.equal(r.error?.code, 'PLUGVISOR_SETUP_FAILED');
  // The reload rolled back: nothing changed. Sent to the dead worker, the call would fail with
  // PLUGVISOR_CALL_TIMEOUT after callTimeoutMs instead.
  assert.equal(sup.info('dies').status, 'failed');
  assertError(await rejectionOf(sup.call('dies', 'v')), 'PLUGVISOR_PLUGIN_FAILED');
  // Fixed, it starts on the next call.
  writeFileSync(join(dir, 'index.js'), 'export default { commands: { v: () => 3 } };');
  assert.equal((await sup.reload('dies')).ok, true);
  assert.equal(await sup.call('dies', 'v'), 3);
});

test('a plugin whose restarts fail says why in its error: the failed start\'s own message', { timeout: 20_000 }, async (t) => {
  const dir = tempDir(t);
  const broken = join(dir, 'broken');
  writePlugin(dir, {
    'package.json': { name: 'restart-breaks', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { restart: { maxRestarts: 1, windowSeconds: 60, backoffInitialMs: 0 } } },
    'index.js': `import { existsSync } from 'node:fs';
export default { setup() { if (existsSync(${JSON.stringify(broken)})) throw new Error('the database is gone'); }, commands: { die: () => process.exit(3) } };`,
  });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  writeFileSync(broken, '');
  const crashed = nextEvent(sup, 'crash', 'restart-breaks');
  assertError(await rejectionOf(sup.call('restart-breaks', 'die')), 'PLUGVISOR_PLUGIN_CRASHED');
  await crashed;
  while (sup.info('restart-breaks').status !== 'failed') await new Promise((resolve) => setTimeout(resolve, 10));
  assert.match(sup.info('restart-breaks').error ?? '', /the database is gone/);
  assertError(await rejectionOf(sup.call('restart-breaks', 'die')), 'PLUGVISOR_PLUGIN_FAILED', 'the database is gone');
});

test('sup.connect() to a plugin waiting out a restart back-off waits for that restart instead of starting it at once', async (t) => {
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'backs-off', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { restart: { maxRestarts: 5, windowSeconds: 60, backoffInitialMs: 300 } } },
    'index.js': 'export default { commands: { die: () => process.exit(3) }, connect(ctx, port) { port.on("message", (m) => port.postMessage(m)); } };',
  });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  const events: string[] = [];
  sup.on('restart', (e) => events.push(`restart ${e.attempt}`));
  const first = nextEvent(sup, 'restart', 'backs-off');
  await rejectionOf(sup.call('backs-off', 'die'));
  await first;
  const crashed = nextEvent(sup, 'crash', 'backs-off');
  await rejectionOf(sup.call('backs-off', 'die'));
  await crashed;
  assert.equal(sup.info('backs-off').status, 'restarting');
  const port = await sup.connect('backs-off');
  t.after(() => port.close());
  events.push('connected');
  // Started at once, it would have skipped the restart: no second restart event, ever.
  assert.deepEqual(events, ['restart 1', 'restart 2', 'connected']);
  port.postMessage('ping');
  assert.deepEqual(await once(port, 'message'), ['ping']);
});
