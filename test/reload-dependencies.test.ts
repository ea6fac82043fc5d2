import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Supervisor } from 'plugvisor';
import { fixture, nextEvent, startSupervisor, tempDir, writePlugin } from './helpers.js';
import { BroadcastChannel } from 'node:worker_threads';
import { setupGate, writeVersioned } from './reload-helpers.js';

type Answer = { version: string; count: number };

/** [name, version, status] of every loaded plugin, sorted. */
function listed(sup: Supervisor): string[][] {
  return sup.list().map((p) => [p.name, p.version, p.status]).sort();
}

async function threePlugins(t: import('node:test').TestContext, config: Record<string, unknown> = {}) {
  const root = tempDir(t);
  const dirs = {
    base: writeVersioned(join(root, 'base'), { version: '1.0.0', name: 'base' }),
    mid: writeVersioned(join(root, 'mid'), { version: '1.0.0', name: 'mid', dependsOn: { base: '^1.0.0' } }),
    top: writeVersioned(join(root, 'top'), { version: '1.0.0', name: 'top', dependsOn: { mid: '^1.0.0' } }),
  };
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: dirs.top }, { path: dirs.mid }, { path: dirs.base }], ...config } });
  return { sup, dirs };
}

test('start() loads plugins dependencies first, whatever the configured order', async (t) => {
  const { sup } = await threePlugins(t);
  assert.deepEqual(sup.list().map((p) => p.name).sort(), ['base', 'mid', 'top']);
  assert.deepEqual(sup.deps('top').dependsOn.map((d) => [d.name, d.satisfied]), [['mid', true]]);
  assert.deepEqual(sup.deps('base').dependents, ['mid', 'top']);
});

test('reloading a plugin reloads its dependents after it, in order, and their channels keep working', async (t) => {
  const { sup, dirs } = await threePlugins(t);
  await sup.call('top', 'viaDependency', 'mid', 'inc');
  writeVersioned(dirs.base, { version: '1.1.0', name: 'base' });
  const reloaded: string[] = [];
  sup.on('reload', (e) => reloaded.push(e.plugin));
  const r = await sup.reload('base');
  assert.equal(r.ok, true, r.error?.message);
  assert.deepEqual(r.reloaded, ['base', 'mid', 'top']);
  assert.deepEqual(reloaded, ['base', 'mid', 'top']);
  // The dependents' state came along, and their channels reach the new versions.
  assert.deepEqual(await sup.call('top', 'viaDependency', 'mid', 'inc'), { version: '1.0.0', count: 2 });
  assert.deepEqual(await sup.call('mid', 'viaDependency', 'base', 'get'), { version: '1.1.0', count: 0 });
});

test('a dependency call issued while the dependency reloads is answered by exactly one version', async (t) => {
  const { sup, dirs } = await threePlugins(t);
  let running = true;
  const answers: Answer[] = [];
  const caller = (async () => {
    while (running) answers.push(...(await Promise.all(Array.from({ length: 8 }, () => sup.call('mid', 'viaDependency', 'base', 'inc') as Promise<Answer>))));
  })();
  for (let i = 1; i <= 5; i++) {
    writeVersioned(dirs.base, { version: `1.0.${i}`, name: 'base' });
    assert.equal((await sup.reload('base')).ok, true);
  }
  running = false;
  await caller;
  const counts = answers.map((a) => a.count);
  assert.deepEqual(counts, Array.from({ length: counts.length }, (_, i) => i + 1));
  assert.deepEqual(await sup.call('base', 'get'), { version: '1.0.5', count: counts.length });
});

test('when a dependent fails to reload, the whole group rolls back together', async (t) => {
  const { sup, dirs } = await threePlugins(t);
  await sup.call('base', 'inc');
  writeVersioned(dirs.base, { version: '1.1.0', name: 'base' });
  writeVersioned(dirs.top, { version: '1.1.0', name: 'top', dependsOn: { mid: '^1.0.0' }, hooks: `setup() { throw new Error('top cannot start'); },` });
  const r = await sup.reload('base');
  assert.equal(r.ok, false);
  assert.equal(r.error?.step, 'setup');
  assert.deepEqual(listed(sup), [['base', '1.0.0', 'serving'], ['mid', '1.0.0', 'serving'], ['top', '1.0.0', 'serving']]);
  assert.deepEqual(await sup.call('top', 'viaDependency', 'mid', 'viaDependency', 'base', 'get'), { version: '1.0.0', count: 1 });
});

test('a group whose dependent cannot drain within reload.timeout rolls back together, the dependency\'s new worker already waiting for its state included', async (t) => {
  const { sup, dirs } = await threePlugins(t, { reload: { timeout: 0.2 } });
  await sup.call('base', 'inc');
  const held = sup.call('top', 'hold');
  writeVersioned(dirs.base, { version: '1.1.0', name: 'base' });
  const r = await sup.reload('base');
  assert.equal(r.ok, false);
  assert.equal(r.error?.step, 'drain');
  assert.equal(r.error?.code, 'PLUGVISOR_RELOAD_TIMEOUT');
  assert.equal(await sup.call('top', 'release'), true);
  assert.equal(await held, '1.0.0');
  assert.deepEqual(listed(sup), [['base', '1.0.0', 'serving'], ['mid', '1.0.0', 'serving'], ['top', '1.0.0', 'serving']]);
  assert.deepEqual(await sup.call('top', 'viaDependency', 'mid', 'viaDependency', 'base', 'get'), { version: '1.0.0', count: 1 });
  const again = await sup.reload('base');
  assert.equal(again.ok, true, again.error?.message);
  assert.deepEqual(await sup.call('top', 'viaDependency', 'mid', 'viaDependency', 'base', 'get'), { version: '1.1.0', count: 1 });
});

test('a new version that adds or drops a dependency is wired to the dependencies it declares, and reloads with them from then on', async (t) => {
  const { sup, dirs } = await threePlugins(t);
  await sup.call('base', 'inc');
  // top 1.1.0 also calls base directly; top 1.2.0 no longer needs mid.
  writeVersioned(dirs.top, { version: '1.1.0', name: 'top', dependsOn: { mid: '^1.0.0', base: '^1.0.0' } });
  const added = await sup.reload('top');
  assert.equal(added.ok, true, added.error?.message);
  assert.deepEqual(await sup.call('top', 'viaDependency', 'base', 'get'), { version: '1.0.0', count: 1 });
  assert.deepEqual(sup.deps('base').dependents, ['mid', 'top']);
  writeVersioned(dirs.base, { version: '1.0.1', name: 'base' });
  const withDependents = await sup.reload('base');
  assert.equal(withDependents.ok, true, withDependents.error?.message);
  assert.deepEqual(await sup.call('top', 'viaDependency', 'base', 'get'), { version: '1.0.1', count: 1 });
  writeVersioned(dirs.top, { version: '1.2.0', name: 'top', dependsOn: { base: '^1.0.0' } });
  const dropped = await sup.reload('top');
  assert.equal(dropped.ok, true, dropped.error?.message);
  await assert.rejects(sup.call('top', 'viaDependency', 'mid', 'get'));
  assert.deepEqual(await sup.call('top', 'viaDependency', 'base', 'get'), { version: '1.0.1', count: 1 });
});

test('a new version that adds a dependency within its reload group is activated after it, whatever the order the group had', async (t) => {
  const root = tempDir(t);
  const dirs = {
    base: writeVersioned(join(root, 'base'), { version: '1.0.0', name: 'base' }),
    top: writeVersioned(join(root, 'top'), { version: '1.0.0', name: 'top', dependsOn: { base: '^1.0.0' } }),
    mid: writeVersioned(join(root, 'mid'), { version: '1.0.0', name: 'mid', dependsOn: { base: '^1.0.0' } }),
  };
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: dirs.base }, { path: dirs.top }, { path: dirs.mid }] } });
  await sup.call('mid', 'inc');
  // Reloading base reloads top and mid; top's new version now needs mid, and asks it for its state in setup().
  writeVersioned(dirs.top, { version: '1.1.0', name: 'top', dependsOn: { base: '^1.0.0', mid: '^1.0.0' }, hooks: `async setup(ctx) { ctx.state.midAtSetup = await ctx.plugins.mid.get(); },` });
  writeVersioned(dirs.mid, { version: '1.0.1', name: 'mid', dependsOn: { base: '^1.0.0' } });
  writeVersioned(dirs.base, { version: '1.0.1', name: 'base' });
  const r = await sup.reload('base');
  assert.equal(r.ok, true, r.error?.message);
  assert.deepEqual(r.reloaded.slice().sort(), ['base', 'mid', 'top']);
  assert.deepEqual(await sup.call('top', 'viaDependency', 'mid', 'get'), { version: '1.0.1', count: 1 });
});

test('a lazy dependency a new version adds is started with its own code, and the new version reaches it', async (t) => {
  const root = tempDir(t);
  const dirs = {
    app: writeVersioned(join(root, 'app'), { version: '1.0.0', name: 'app' }),
    lib: writeVersioned(join(root, 'lib'), { version: '1.0.0', name: 'lib', activation: 'lazy' }),
  };
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: dirs.app }, { path: dirs.lib }] } });
  assert.equal(sup.list().find((p) => p.name === 'lib')?.status, 'registered');
  writeVersioned(dirs.app, { version: '1.1.0', name: 'app', dependsOn: { lib: '^1.0.0' } });
  const r = await sup.reload('app');
  assert.equal(r.ok, true, r.error?.message);
  assert.deepEqual(await sup.call('app', 'viaDependency', 'lib', 'inc'), { version: '1.0.0', count: 1 });
  assert.deepEqual(listed(sup), [['app', '1.1.0', 'serving'], ['lib', '1.0.0', 'serving']]);
});

test('a lazy, not yet started member of the reload group that a new version starts depending on runs its new code afterwards', async (t) => {
  const root = tempDir(t);
  const dirs = {
    base: writeVersioned(join(root, 'base'), { version: '1.0.0', name: 'base' }),
    mid: writeVersioned(join(root, 'mid'), { version: '1.0.0', name: 'mid', dependsOn: { base: '^1.0.0' }, activation: 'lazy' }),
    top: writeVersioned(join(root, 'top'), { version: '1.0.0', name: 'top', dependsOn: { base: '^1.0.0' } }),
  };
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: dirs.base }, { path: dirs.mid }, { path: dirs.top }] } });
  assert.equal(sup.list().find((p) => p.name === 'mid')?.status, 'registered');
  writeVersioned(dirs.mid, { version: '1.0.1', name: 'mid', dependsOn: { base: '^1.0.0' }, activation: 'lazy' });
  writeVersioned(dirs.top, { version: '1.1.0', name: 'top', dependsOn: { base: '^1.0.0', mid: '^1.0.0' } });
  writeVersioned(dirs.base, { version: '1.0.1', name: 'base' });
  const r = await sup.reload('base');
  assert.equal(r.ok, true, r.error?.message);
  assert.deepEqual(await sup.call('top', 'viaDependency', 'mid', 'get'), { version: '1.0.1', count: 0 });
  assert.deepEqual(await sup.call('mid', 'viaDependency', 'base', 'get'), { version: '1.0.1', count: 0 });
  assert.deepEqual(sup.list().map((p) => [p.name, p.version]).sort(), [['base', '1.0.1'], ['mid', '1.0.1'], ['top', '1.1.0']]);
});

test('a new version that starts depending on a pooled plugin is refused before the pause and the old version keeps serving', async (t) => {
  const app = writeVersioned(join(tempDir(t), 'app'), { version: '1.0.0', name: 'app' });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: app }, { path: fixture('pool-basic') }] } });
  await sup.call('app', 'inc');
  writeVersioned(app, { version: '1.1.0', name: 'app', dependsOn: { 'pool-basic': '^1.0.0' } });
  const r = await sup.reload('app');
  assert.equal(r.ok, false);
  assert.equal(r.error?.code, 'PLUGVISOR_DEPENDENCY_MISSING');
  assert.match(r.error?.message ?? '', /pool-basic.*pooled/);
  assert.equal(r.pauseMs, 0);
  assert.deepEqual(await sup.call('app', 'get'), { version: '1.0.0', count: 1 });
});

test('a dependency that crashes and restarts while a dependent reloads is re-wired to the new version too', async (t) => {
  const root = tempDir(t);
  const dep = writePlugin(join(root, 'dep'), {
    'package.json': { name: 'dep', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': `import { definePlugin } from 'plugvisor';
export default definePlugin({
  state: () => ({ n: 0 }),
  commands: {
    get: (ctx) => ({ n: ctx.state.n }),
    inc: (ctx) => ++ctx.state.n,
    die: () => process.exit(7),
  },
});
`,
  });
  const app = writeVersioned(join(root, 'app'), { version: '1.0.0', name: 'app', dependsOn: { dep: '^1.0.0' } });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: dep }, { path: app }] } });
  await sup.call('app', 'viaDependency', 'dep', 'inc');
  // The new version's setup() kills the dependency, then needs it again: its channel must be
  // re-wired to the restarted worker while the reload is still under way.
  writeVersioned(app, { version: '1.1.0', name: 'app', dependsOn: { dep: '^1.0.0' }, hooks: `async setup(ctx) { await ctx.plugins.dep.die().catch(() => {}); ctx.state.depAtSetup = await ctx.plugins.dep.get(); },` });
  const r = await sup.reload('app');
  assert.equal(r.ok, true, r.error?.message);
  assert.deepEqual(await sup.call('app', 'viaDependency', 'dep', 'get'), { n: 0 });
  assert.deepEqual(await sup.call('app', 'get'), { version: '1.1.0', count: 0 });
  // A new version that kills the dependency and then fails: the reload rolls back while the
  // dependency restarts, and both come back serving, the old version wired to the new dependency.
  writeVersioned(app, { version: '1.2.0', name: 'app', dependsOn: { dep: '^1.0.0' }, hooks: `async setup(ctx) { await ctx.plugins.dep.die().catch(() => {}); throw new Error('1.2.0 cannot start'); },` });
  const failed = await sup.reload('app');
  assert.equal(failed.ok, false);
  assert.equal(failed.error?.step, 'setup');
  assert.deepEqual(await sup.call('app', 'viaDependency', 'dep', 'inc'), 1);
  assert.deepEqual(listed(sup), [['app', '1.1.0', 'serving'], ['dep', '1.0.0', 'serving']]);
});

test('a new version whose dependsOn would close a cycle is refused before the pause, with force too, and the plugins keep serving', async (t) => {
  const { sup, dirs } = await threePlugins(t);
  await sup.call('base', 'inc');
  writeVersioned(dirs.base, { version: '1.1.0', name: 'base', dependsOn: { top: '^1.0.0' } });
  for (const force of [false, true]) {
    const r = await sup.reload('base', { force });
    assert.equal(r.ok, false);
    assert.equal(r.error?.step, 'validate');
    assert.equal(r.error?.code, 'PLUGVISOR_DEPENDENCY_CYCLE');
    assert.match(r.error?.message ?? '', /package\.json: dependsOn forms a cycle: .*base.*top.*mid/);
    assert.equal(r.pauseMs, 0);
  }
  assert.deepEqual(listed(sup), [['base', '1.0.0', 'serving'], ['mid', '1.0.0', 'serving'], ['top', '1.0.0', 'serving']]);
  const all = await sup.reloadAll();
  assert.deepEqual(all.map((r) => [r.plugin, r.ok, r.error?.code]), [['base', false, 'PLUGVISOR_DEPENDENCY_CYCLE'], ['mid', false, 'PLUGVISOR_DEPENDENCY_CYCLE'], ['top', false, 'PLUGVISOR_DEPENDENCY_CYCLE']]);
  assert.deepEqual(await sup.call('top', 'viaDependency', 'mid', 'viaDependency', 'base', 'get'), { version: '1.0.0', count: 1 });
});

test('a new version whose range no longer satisfies a loaded dependent is refused before the pause', async (t) => {
  const { sup, dirs } = await threePlugins(t);
  writeVersioned(dirs.base, { version: '2.0.0', name: 'base' });
  const r = await sup.reload('base');
  assert.equal(r.ok, false);
  assert.equal(r.error?.step, 'validate');
  assert.equal(r.error?.code, 'PLUGVISOR_DEPENDENCY_MISSING');
  assert.match(r.error!.message, /mid/);
  assert.equal(r.pauseMs, 0);
});

test('reloadAll reloads every plugin, dependencies first', async (t) => {
  const { sup } = await threePlugins(t);
  const results = await sup.reloadAll();
  assert.deepEqual(results.map((r) => [r.plugin, r.ok]), [['base', true], ['mid', true], ['top', true]]);
});

test('a dependency cycle is refused at start with its path', async (t) => {
  const root = tempDir(t);
  const a = writeVersioned(join(root, 'a'), { version: '1.0.0', name: 'a', dependsOn: { b: '*' } });
  const b = writeVersioned(join(root, 'b'), { version: '1.0.0', name: 'b', dependsOn: { a: '*' } });
  const sup = new Supervisor({ root, config: { log_level: 'silent', plugins: [{ path: a }, { path: b }] } });
  t.after(() => sup.stop());
  await assert.rejects(sup.start(), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PLUGVISOR_DEPENDENCY_CYCLE');
    assert.match(err.message, /a -> b -> a|b -> a -> b/);
    return true;
  });
});

/** Rewrite a plugin's package.json with `restart` limits. */
function withRestart(dir: string, restart: Record<string, number>): void {
  const file = join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  pkg.plugvisor.restart = restart;
  writeFileSync(file, JSON.stringify(pkg));
}

test('a failed dependent reloaded with its dependency starts wired to the new version of the dependency', async (t) => {
  const root = tempDir(t);
  const base = writeVersioned(join(root, 'base'), { version: '1.0.0', name: 'base' });
  const mid = writeVersioned(join(root, 'mid'), { version: '1.0.0', name: 'mid', dependsOn: { base: '^1.0.0' } });
  withRestart(mid, { maxRestarts: 0, windowSeconds: 60 });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: base }, { path: mid }] } });
  const crashed = nextEvent(sup, 'crash', 'mid');
  await sup.call('mid', 'crashSoon');
  await crashed;
  assert.equal(sup.info('mid').status, 'failed');
  writeVersioned(base, { version: '1.1.0', name: 'base' });
  const r = await sup.reload('base');
  assert.equal(r.ok, true, r.error?.message);
  assert.deepEqual(r.reloaded, ['base', 'mid']);
  // Wired to the old worker of base, which the swap ended, this call would wait for its timeout.
  assert.deepEqual(await sup.call('mid', 'viaDependency', 'base', 'get'), { version: '1.1.0', count: 0 });
  assert.deepEqual(listed(sup), [['base', '1.1.0', 'serving'], ['mid', '1.0.0', 'serving']]);
});

test('a failed dependency reloaded with its dependents starts, and their new versions reach it', async (t) => {
  const root = tempDir(t);
  const base = writeVersioned(join(root, 'base'), { version: '1.0.0', name: 'base' });
  withRestart(base, { maxRestarts: 0, windowSeconds: 60 });
  const mid = writeVersioned(join(root, 'mid'), { version: '1.0.0', name: 'mid', dependsOn: { base: '^1.0.0' } });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: base }, { path: mid }] } });
  await sup.call('mid', 'inc');
  const crashed = nextEvent(sup, 'crash', 'base');
  await sup.call('base', 'crashSoon');
  await crashed;
  assert.equal(sup.info('base').status, 'failed');
  writeVersioned(base, { version: '1.1.0', name: 'base' });
  withRestart(base, { maxRestarts: 0, windowSeconds: 60 });
  const r = await sup.reload('base');
  assert.equal(r.ok, true, r.error?.message);
  assert.deepEqual(await sup.call('mid', 'viaDependency', 'base', 'inc'), { version: '1.1.0', count: 1 });
  // The dependent kept its state.
  assert.deepEqual(await sup.call('mid', 'get'), { version: '1.0.0', count: 1 });
});

test('a plugin waiting to restart whose reload rolls back restarts with its old code afterwards', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0', name: 'waits' });
  // The second crash in the window waits a minute before its restart.
  withRestart(dir, { maxRestarts: 5, windowSeconds: 60, backoffInitialMs: 60_000 });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: dir }] } });
  const restarted = nextEvent(sup, 'restart', 'waits');
  await sup.call('waits', 'crashSoon');
  await restarted;
  const crashed = nextEvent(sup, 'crash', 'waits');
  await sup.call('waits', 'crashSoon');
  await crashed;
  assert.equal(sup.info('waits').status, 'restarting');
  writeVersioned(dir, { version: '1.1.0', name: 'waits', hooks: 'setup() { throw new Error("1.1.0 cannot start"); },' });
  const again = nextEvent(sup, 'restart', 'waits');
  const r = await sup.reload('waits');
  assert.equal(r.ok, false);
  assert.equal(r.error?.step, 'setup');
  // Its restart is due again at once, with the code it had.
  await again;
  assert.deepEqual(await sup.call('waits', 'get'), { version: '1.0.0', count: 0 });
  // A reload that succeeds starts the new version in place of the restart.
  writeVersioned(dir, { version: '1.2.0', name: 'waits' });
  const crashedAgain = nextEvent(sup, 'crash', 'waits');
  await sup.call('waits', 'crashSoon');
  await crashedAgain;
  assert.equal(sup.info('waits').status, 'restarting');
  const ok = await sup.reload('waits');
  assert.equal(ok.ok, true, ok.error?.message);
  assert.deepEqual(await sup.call('waits', 'get'), { version: '1.2.0', count: 0 });
  assert.equal(sup.info('waits').status, 'serving');
});

test('a lazy dependent that comes up while the reload prepares, whose new version adds a lazy dependency of the group, reloads with it', async (t) => {
  const root = tempDir(t);
  const lib = writeVersioned(join(root, 'lib'), { version: '1.0.0', name: 'lib', activation: 'lazy' });
  const gate = setupGate(t);
  const app = writeVersioned(join(root, 'app'), { version: '1.0.0', name: 'app', activation: 'lazy', prelude: gate.prelude, hooks: gate.hooks });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: lib }, { path: app }] } });
  // lib's new version says when its worker imports it (the reload's spawn step, past startDependencies).
  const channel = `plugvisor-lib-imported-${process.pid}`;
  const bc = new BroadcastChannel(channel);
  t.after(() => bc.close());
  const imported = new Promise<void>((resolve) => {
    bc.onmessage = () => resolve();
  });
  writeVersioned(lib, {
    version: '1.0.1', name: 'lib', activation: 'lazy',
    prelude: `import { BroadcastChannel } from 'node:worker_threads';
{ const bc = new BroadcastChannel(${JSON.stringify(channel)}); bc.postMessage('imported'); bc.close(); }`,
  });
  // app's first call starts it (setup held): it has no running worker when the reload looks for
  // the dependencies to start before the pause, and one when the pause comes.
  const first = sup.call('app', 'get');
  await gate.reached;
  writeVersioned(app, { version: '1.1.0', name: 'app', activation: 'lazy', dependsOn: { lib: '^1.0.0' } });
  const reloaded = sup.reloadAll();
  await imported;
  gate.release();
  assert.deepEqual(await first, { version: '1.0.0', count: 0 });
  // Wiring app's new version asked lib to start, which waited for the reload to end: it never did.
  const results = await reloaded;
  assert.deepEqual(results.map((r) => [r.plugin, r.ok]), [['lib', true], ['app', true]]);
  assert.deepEqual(await sup.call('app', 'viaDependency', 'lib', 'get'), { version: '1.0.1', count: 0 });
  assert.deepEqual(listed(sup), [['app', '1.1.0', 'serving'], ['lib', '1.0.1', 'serving']]);
});

test('delta transfer: a plugin reloaded with its dependent, its own dependency staying, keeps its state and every channel under load', async (t) => {
  const root = tempDir(t);
  const dirs = {
    base: writeVersioned(join(root, 'base'), { version: '1.0.0', name: 'base' }),
    mid: writeVersioned(join(root, 'mid'), { version: '1.0.0', name: 'mid', dependsOn: { base: '^1.0.0' }, stateTransfer: 'delta' }),
    top: writeVersioned(join(root, 'top'), { version: '1.0.0', name: 'top', dependsOn: { mid: '^1.0.0' }, stateTransfer: 'delta' }),
  };
  const sup = await startSupervisor(t, { config: { log_level: 'silent', plugins: [{ path: dirs.base }, { path: dirs.mid }, { path: dirs.top }] } });
  let running = true;
  let midIncs = 0;
  let chained = 0;
  const callers = [
    (async () => {
      while (running) {
        const answers = await Promise.all(Array.from({ length: 4 }, () => sup.call('mid', 'inc') as Promise<Answer>));
        midIncs += answers.length;
      }
    })(),
    (async () => {
      while (running) {
        // top -> mid -> base: the channel from mid's new worker to base is opened before the pause.
        const answers = await Promise.all(Array.from({ length: 4 }, () => sup.call('top', 'viaDependency', 'mid', 'viaDependency', 'base', 'inc') as Promise<Answer>));
        for (const a of answers) assert.equal(a.version, '1.0.0');
        chained += answers.length;
      }
    })(),
  ];
  for (let i = 1; i <= 5; i++) {
    writeVersioned(dirs.mid, { version: `1.0.${i}`, name: 'mid', dependsOn: { base: '^1.0.0' }, stateTransfer: 'delta' });
    const r = await sup.reload('mid');
    assert.equal(r.ok, true, `${r.error?.step}: ${r.error?.message}`);
    assert.deepEqual(r.reloaded, ['mid', 'top']);
  }
  running = false;
  await Promise.all(callers);
  assert.deepEqual(await sup.call('mid', 'get'), { version: '1.0.5', count: midIncs });
  assert.deepEqual(await sup.call('base', 'get'), { version: '1.0.0', count: chained });
  assert.ok(midIncs > 0 && chained > 0);
});
