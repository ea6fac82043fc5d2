/**
 * Lazy activation: "activation": "lazy" registers the plugin without a worker; the first calls start
 * it, once, however many arrive together.
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { assertError, rejectionOf } from './expect.js';
import { copyFixture, startSupervisor, tempDir, writePlugin } from './helpers.js';
import { writeVersioned } from './reload-helpers.js';

interface Hello {
  i: number;
  threadId: number;
  setups: number;
}

test('a lazy plugin has no worker until its first call; concurrent first calls share one start', async (t) => {
  const sup = await startSupervisor(t);
  const loaded = await sup.load('test/fixtures/lazy-start');
  assert.equal(loaded.status, 'registered');
  assert.equal(loaded.activation, 'lazy');
  assert.equal(loaded.generation, 0);
  assert.equal(sup.info('lazy-start').status, 'registered');

  const results: Hello[] = await Promise.all(Array.from({ length: 20 }, (_, i) => sup.call('lazy-start', 'hello', i)));
  assert.deepEqual(results.map((r) => r.i), Array.from({ length: 20 }, (_, i) => i));
  assert.equal(new Set(results.map((r) => r.threadId)).size, 1, 'every call reached the same worker');
  assert.ok(results.every((r) => r.setups === 1), 'setup ran once');

  const info = sup.info('lazy-start');
  assert.equal(info.status, 'serving');
  assert.equal(info.generation, 1);
  assert.equal(info.stats.calls, 20);
  assert.equal(info.stats.errors, 0);
});

/** The setup-throws fixture, made lazy. */
function lazySetupThrows(t: TestContext): string {
  const dir = copyFixture('setup-throws', tempDir(t));
  const manifestFile = join(dir, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  manifest.plugvisor = { activation: 'lazy' };
  writeFileSync(manifestFile, JSON.stringify(manifest));
  return dir;
}

test('a lazy plugin that cannot start fails its waiting calls with the reason and stays loaded', async (t) => {
  const dir = lazySetupThrows(t);
  const sup = await startSupervisor(t);
  assert.equal((await sup.load(dir)).status, 'registered');
  const errors = await Promise.all(Array.from({ length: 5 }, () => rejectionOf(sup.call('setup-throws', 'ping'))));
  for (const err of errors) assertError(err, 'PLUGVISOR_SETUP_FAILED', 'setup-throws', 'thrown in setup');
  assert.equal(sup.info('setup-throws').status, 'registered');

  // Still loaded: the next call tries again, and fails again for the same reason.
  assertError(await rejectionOf(sup.call('setup-throws', 'ping')), 'PLUGVISOR_SETUP_FAILED');
  await sup.load('plugins/counter');
  assert.equal(await sup.call('counter', 'increment', 2), 2);
});

test("a call made as soon as a lazy plugin's failed start is reported starts it again and fails with the reason, never hangs", { timeout: 20_000 }, async (t) => {
  const sup = await startSupervisor(t);
  await sup.load(lazySetupThrows(t));
  // Made in the first call's rejection handler, before the failed start has let go of the plugin.
  const again = await sup.call('setup-throws', 'ping').then(
    () => assert.fail('the first call should fail'),
    () => rejectionOf(sup.call('setup-throws', 'ping')),
  );
  assertError(again, 'PLUGVISOR_SETUP_FAILED', 'setup-throws', 'thrown in setup');
  assert.equal(sup.info('setup-throws').status, 'registered');
  assert.equal(sup.info('setup-throws').stats.pending, 0);
});

for (const rollsBack of [false, true]) {
  const outcome = rollsBack ? 'a reload that rolls back starts its old version' : 'a reload starts its new version';
  test(`a first call to a lazy plugin that arrives during the pause of ${outcome}`, async (t) => {
    const root = tempDir(t);
    const busy = writeVersioned(join(root, 'busy'), { version: '1.0.0', name: 'busy' });
    const lazy = writeVersioned(join(root, 'lazy'), { version: '1.0.0', name: 'lazy', activation: 'lazy' });
    const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: busy }, { path: lazy }] } });
    assert.equal(sup.info('lazy').status, 'registered');
    writeVersioned(lazy, { version: '2.0.0', name: 'lazy', activation: 'lazy' });
    if (rollsBack) writeVersioned(busy, { version: '1.1.0', name: 'busy', hooks: 'health() { return { ok: false }; },' });
    // A call in flight on busy holds the group's pause open (its drain) while lazy gets its first call.
    const inFlight = sup.call('busy', 'slow', 1_500);
    const reloaded = sup.reloadAll();
    while (sup.info('busy').status !== 'reloading') await new Promise((resolve) => setImmediate(resolve));
    const first = sup.call('lazy', 'get');
    const channel = sup.connect('lazy');
    const results = await reloaded;
    assert.deepEqual(results.map((r) => [r.plugin, r.ok]), [['busy', !rollsBack], ['lazy', !rollsBack]]);
    assert.equal(await inFlight, '1.0.0');
    // Started inside the pause, it would run the code it had then, whatever the outcome.
    const version = rollsBack ? '1.0.0' : '2.0.0';
    assert.deepEqual(await first, { version, count: 0 });
    assert.equal(sup.info('lazy').version, version);
    const port = await channel;
    t.after(() => port.close());
    port.postMessage('hi');
    const [echo] = await once(port, 'message');
    assert.deepEqual(echo, { version, m: 'hi' });
  });
}

test('a first call during the pause to a lazy dependent of a reloaded plugin starts it wired to the new version of its dependency', async (t) => {
  const root = tempDir(t);
  const base = writeVersioned(join(root, 'base'), { version: '1.0.0', name: 'base' });
  const lazy = writeVersioned(join(root, 'lazy'), { version: '1.0.0', name: 'lazy', activation: 'lazy', dependsOn: { base: '^1.0.0' } });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: base }, { path: lazy }] } });
  assert.equal(sup.info('lazy').status, 'registered');
  writeVersioned(base, { version: '1.1.0', name: 'base' });
  writeVersioned(lazy, { version: '1.0.1', name: 'lazy', activation: 'lazy', dependsOn: { base: '^1.0.0' } });
  const inFlight = sup.call('base', 'slow', 1_500);
  const reloaded = sup.reload('base');
  while (sup.info('base').status !== 'reloading') await new Promise((resolve) => setImmediate(resolve));
  // Started before base's commit, it was wired to base's old worker, which the reload then ended.
  const first = sup.call('lazy', 'viaDependency', 'base', 'get');
  first.catch(() => undefined);
  const r = await reloaded;
  assert.equal(r.ok, true, r.error?.message);
  assert.equal(await inFlight, '1.0.0');
  assert.deepEqual(await first, { version: '1.1.0', count: 0 });
  assert.deepEqual(await sup.call('lazy', 'viaDependency', 'base', 'get'), { version: '1.1.0', count: 0 });
});

test('a first call during the pause to a lazy plugin whose new version adds a lazy dependency later in the group starts both, and the reload ends', async (t) => {
  const root = tempDir(t);
  const busy = writeVersioned(join(root, 'busy'), { version: '1.0.0', name: 'busy' });
  const app = writeVersioned(join(root, 'app'), { version: '1.0.0', name: 'app', activation: 'lazy' });
  const lib = writeVersioned(join(root, 'lib'), { version: '1.0.0', name: 'lib', activation: 'lazy' });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: busy }, { path: app }, { path: lib }] } });
  writeVersioned(app, { version: '1.1.0', name: 'app', activation: 'lazy', dependsOn: { lib: '^1.0.0' } });
  writeVersioned(lib, { version: '1.0.1', name: 'lib', activation: 'lazy' });
  const inFlight = sup.call('busy', 'slow', 1_500);
  const reloaded = sup.reloadAll();
  while (sup.info('busy').status !== 'reloading') await new Promise((resolve) => setImmediate(resolve));
  // app's start asked lib to start, which waited for the reload to end, which waited for app's start.
  const first = sup.call('app', 'viaDependency', 'lib', 'get');
  first.catch(() => undefined);
  const results = await reloaded;
  assert.deepEqual(results.map((r) => [r.plugin, r.ok]), [['busy', true], ['app', true], ['lib', true]]);
  assert.equal(await inFlight, '1.0.0');
  assert.deepEqual(await first, { version: '1.0.1', count: 0 });
});

test('a first call during the pause to a lazy plugin whose new version cannot start fails with the reason; the reload is not rolled back', async (t) => {
  const root = tempDir(t);
  const busy = writeVersioned(join(root, 'busy'), { version: '1.0.0', name: 'busy' });
  const lazy = writeVersioned(join(root, 'lazy'), { version: '1.0.0', name: 'lazy', activation: 'lazy' });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: busy }, { path: lazy }] } });
  writeVersioned(busy, { version: '1.1.0', name: 'busy' });
  writeVersioned(lazy, { version: '2.0.0', name: 'lazy', activation: 'lazy', hooks: 'setup() { throw new Error("2.0.0 cannot start"); },' });
  const inFlight = sup.call('busy', 'slow', 1_500);
  const reloaded = sup.reloadAll();
  while (sup.info('busy').status !== 'reloading') await new Promise((resolve) => setImmediate(resolve));
  const first = sup.call('lazy', 'get');
  first.catch(() => undefined);
  const results = await reloaded;
  // As at any lazy start, setup()'s failure is the call's error, not the reload's.
  assert.deepEqual(results.map((r) => [r.plugin, r.ok]), [['busy', true], ['lazy', true]]);
  assert.equal(await inFlight, '1.0.0');
  assertError(await rejectionOf(first), 'PLUGVISOR_SETUP_FAILED', '2.0.0 cannot start');
  assert.deepEqual(await sup.call('busy', 'get'), { version: '1.1.0', count: 0 });
  assert.equal(sup.info('lazy').version, '2.0.0');
});

test("a lazy plugin's first call to a name its commands object only inherits (toString, constructor) fails with PLUGVISOR_COMMAND_NOT_FOUND", async (t) => {
  const root = tempDir(t);
  writePlugin(join(root, 'lazy-names'), {
    'package.json': { name: 'lazy-names', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { activation: 'lazy' } },
    'index.js': 'export default { commands: { a: () => 1 } };\n',
  });
  const sup = await startSupervisor(t, { root });
  await sup.load('lazy-names');
  // The first calls reach the worker before the host knows the plugin's commands.
  const [toString, constructor] = await Promise.allSettled([sup.call('lazy-names', 'toString'), sup.call('lazy-names', 'constructor')]);
  for (const settled of [toString, constructor]) {
    assert.equal(settled.status, 'rejected', JSON.stringify(settled));
    assertError((settled as PromiseRejectedResult).reason, 'PLUGVISOR_COMMAND_NOT_FOUND');
  }
  assert.equal(await sup.call('lazy-names', 'a'), 1);
});
