import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { nextEvent, startSupervisor, tempDir, writePlugin } from './helpers.js';
import { connectEcho, setupGate, writeVersioned } from './reload-helpers.js';

type Answer = { version: string; count: number };

test('reload swaps in the new code and carries the state over', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  await sup.call('versioned', 'inc');
  await sup.call('versioned', 'inc');
  writeVersioned(dir, { version: '1.1.0' });
  const reloads: unknown[] = [];
  sup.on('reload', (e) => reloads.push(e));
  const r = await sup.reload('versioned');
  assert.equal(r.ok, true, r.error?.message);
  assert.equal(r.plugin, 'versioned');
  assert.equal(r.fromVersion, '1.0.0');
  assert.equal(r.toVersion, '1.1.0');
  assert.equal(r.rolledBack, false);
  assert.ok(r.durationMs >= r.pauseMs && r.pauseMs >= 0);
  assert.deepEqual(await sup.call('versioned', 'get'), { version: '1.1.0', count: 2 });
  assert.equal(sup.info('versioned').version, '1.1.0');
  assert.equal(sup.info('versioned').reloadCount, 1);
  assert.equal(reloads.length, 1);
});

test('state with Map, Set, Date, typed arrays, BigInt and cycles survives a reload', async (t) => {
  const dir = tempDir(t);
  const hooks = `setup(ctx) { if (!ctx.state.rich) { const o = { m: new Map([[1, { d: new Date(5) }]]), s: new Set(['a']), u: new Uint8Array([1, 2, 3]), b: 2n ** 70n }; o.self = o; ctx.state.rich = o; } },`;
  writeVersioned(dir, { version: '1.0.0', hooks: `${hooks} health(ctx) { return { ok: true }; },` });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  writeVersioned(dir, {
    version: '1.0.1',
    hooks: `${hooks} health(ctx) { const o = ctx.state.rich; return { ok: o.self === o && o.m.get(1).d.getTime() === 5 && o.s.has('a') && o.u[2] === 3 && o.b === 2n ** 70n }; },`,
  });
  const r = await sup.reload('versioned');
  assert.equal(r.ok, true, r.error?.message);
});

test('migrate runs in the new version with the old state and fromVersion', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  await sup.call('versioned', 'inc');
  writeVersioned(dir, { version: '2.0.0', hooks: `migrate(old, { fromVersion }) { return { ...old, count: old.count * 100, from: fromVersion }; },` });
  const r = await sup.reload('versioned');
  assert.equal(r.ok, true, r.error?.message);
  assert.deepEqual(await sup.call('versioned', 'get'), { version: '2.0.0', count: 100 });
});

test('concurrent pipelining callers through a reload storm: every call answered once, in order, never by an older version after a newer one, no state change lost', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  const RELOADS = 30;
  const CALLERS = 4;
  let reloading = true;
  const callers = Array.from({ length: CALLERS }, async (_, caller) => {
    const answers: Answer[] = [];
    let seq = 0;
    while (reloading) {
      // Pipeline a window of calls, as a busy client would.
      const window = Array.from({ length: 16 }, () => sup.call('versioned', 'inc', `c${caller}`, seq++) as Promise<Answer>);
      answers.push(...(await Promise.all(window)));
    }
    return { answers, issued: seq };
  });
  for (let i = 1; i <= RELOADS; i++) {
    writeVersioned(dir, { version: `1.0.${i}` });
    const r = await sup.reload('versioned');
    assert.equal(r.ok, true, r.error?.message);
  }
  reloading = false;
  const results = await Promise.all(callers);
  let acknowledged = 0;
  const counts = new Set<number>();
  for (const { answers, issued } of results) {
    assert.equal(answers.length, issued, 'every call answered');
    acknowledged += answers.length;
    let lastPatch = -1;
    let lastCount = 0;
    for (const a of answers) {
      const patch = Number(a.version.split('.')[2]);
      assert.ok(patch >= lastPatch, `a caller saw ${a.version} after 1.0.${lastPatch}`);
      assert.ok(a.count > lastCount, 'a caller\'s calls are served in the order it issued them');
      assert.ok(!counts.has(a.count), `count ${a.count} answered twice`);
      counts.add(a.count);
      lastPatch = patch;
      lastCount = a.count;
    }
  }
  const final = (await sup.call('versioned', 'get')) as Answer;
  assert.equal(final.version, `1.0.${RELOADS}`);
  assert.equal(final.count, acknowledged, 'no acknowledged increment lost');
  assert.equal(sup.info('versioned').reloadCount, RELOADS);
});

test('calls in flight when the reload starts finish on the old version; calls issued during the pause go to the new one', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  const inFlight = sup.call('versioned', 'slow', 200);
  writeVersioned(dir, { version: '2.0.0' });
  const reload = sup.reload('versioned');
  const results = await Promise.all([inFlight, reload]);
  assert.equal(results[0], '1.0.0');
  assert.equal(results[1].ok, true);
  assert.ok(results[1].phases.drain > 0);
  assert.equal(await sup.call('versioned', 'slow', 1), '2.0.0');
});

test('a client channel from connect() survives reloads, messages sent during the swap arrive in order at the new version', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  const port = await sup.connect('versioned');
  t.after(() => port.close());
  const received: Array<{ version: string; m: number }> = [];
  const done = new Promise<void>((resolve) => port.on('message', (msg) => {
    received.push(msg);
    if (received.length === 300) resolve();
  }));
  let n = 0;
  for (let i = 0; i < 100; i++) port.postMessage(n++);
  writeVersioned(dir, { version: '2.0.0' });
  const reload = sup.reload('versioned');
  for (let i = 0; i < 100; i++) port.postMessage(n++);
  assert.equal((await reload).ok, true);
  for (let i = 0; i < 100; i++) port.postMessage(n++);
  await done;
  assert.deepEqual(received.map((r) => r.m), Array.from({ length: 300 }, (_, i) => i));
  assert.equal(received.at(-1)!.version, '2.0.0');
  const firstNew = received.findIndex((r) => r.version === '2.0.0');
  assert.ok(received.slice(firstNew).every((r) => r.version === '2.0.0'), 'never the old version after the new one');
});

test('a client channel opened while a reload is in its pause reaches the new version and keeps working', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  const gate = setupGate(t);
  writeVersioned(dir, { version: '2.0.0', prelude: gate.prelude, hooks: gate.hooks });
  const reload = sup.reload('versioned');
  await gate.reached;
  const connecting = sup.connect('versioned');
  gate.release();
  const port = await connecting;
  t.after(() => port.close());
  const closed = new Promise<'closed'>((resolve) => port.once('close', () => resolve('closed')));
  assert.equal((await reload).ok, true);
  const echo = (m: number): Promise<unknown> => Promise.race([closed, new Promise((resolve) => {
    port.once('message', resolve);
    port.postMessage(m);
  })]);
  assert.deepEqual(await echo(1), { version: '2.0.0', m: 1 });
  writeVersioned(dir, { version: '3.0.0' });
  assert.equal((await sup.reload('versioned')).ok, true);
  assert.deepEqual(await echo(2), { version: '3.0.0', m: 2 });
});

const failures: Array<{ what: string; step: string; code: string; message?: RegExp; write(dir: string): void; config?: Record<string, unknown> }> = [
  { what: 'a syntax error', step: 'compile', code: 'PLUGVISOR_COMPILE_FAILED', write: (d) => writeFileSync(join(d, 'index.ts'), 'export default {{') },
  { what: 'an unresolvable import', step: 'compile', code: 'PLUGVISOR_COMPILE_FAILED', write: (d) => writeVersioned(d, { version: '2.0.0', prelude: `import 'no-such-package-anywhere';` }) },
  { what: 'an import that throws', step: 'load', code: 'PLUGVISOR_PLUGIN_LOAD_FAILED', write: (d) => writeVersioned(d, { version: '2.0.0', prelude: `throw new Error('boom at import');` }) },
  { what: 'a module without commands', step: 'load', code: 'PLUGVISOR_PLUGIN_INVALID', write: (d) => writeFileSync(join(d, 'index.ts'), 'export default { state: () => ({}) };') },
  { what: 'a failing setup', step: 'setup', code: 'PLUGVISOR_SETUP_FAILED', write: (d) => writeVersioned(d, { version: '2.0.0', hooks: `setup() { throw new Error('setup says no'); },` }) },
  { what: 'a setup that throws a plain object', step: 'setup', code: 'PLUGVISOR_SETUP_FAILED', message: /plain setup failure/, write: (d) => writeVersioned(d, { version: '2.0.0', hooks: `setup() { throw { code: 'E_PLAIN', message: 'plain setup failure' }; },` }) },
  { what: 'a failing health', step: 'health', code: 'PLUGVISOR_HEALTH_FAILED', write: (d) => writeVersioned(d, { version: '2.0.0', hooks: `health() { return { ok: false, why: 'not today' }; },` }) },
  { what: 'a throwing health', step: 'health', code: 'PLUGVISOR_HEALTH_FAILED', write: (d) => writeVersioned(d, { version: '2.0.0', hooks: `health() { throw new Error('health blew up'); },` }) },
  { what: 'a health report that cannot be cloned', step: 'health', code: 'PLUGVISOR_HEALTH_FAILED', message: /cannot be cloned/, write: (d) => writeVersioned(d, { version: '2.0.0', hooks: `health() { return { ok: true, check: () => true }; },` }) },
  { what: 'a failing migrate', step: 'migrate', code: 'PLUGVISOR_MIGRATE_FAILED', write: (d) => writeVersioned(d, { version: '2.0.0', hooks: `migrate() { throw new Error('cannot migrate'); },` }) },
  { what: 'a migrate that returns nothing', step: 'migrate', code: 'PLUGVISOR_MIGRATE_FAILED', message: /returned undefined/, write: (d) => writeVersioned(d, { version: '2.0.0', hooks: `migrate(old) { old.count += 100; },` }) },
  { what: 'a new worker that exits while starting', step: 'activate', code: 'PLUGVISOR_PLUGIN_CRASHED', write: (d) => writeVersioned(d, { version: '2.0.0', hooks: `setup() { process.exit(3); },` }) },
  { what: 'a new worker that exits at import', step: 'load', code: 'PLUGVISOR_PLUGIN_LOAD_FAILED', write: (d) => writeVersioned(d, { version: '2.0.0', prelude: 'process.exit(4);' }) },
  { what: 'a broken package.json', step: 'manifest', code: 'PLUGVISOR_MANIFEST_INVALID', write: (d) => writeFileSync(join(d, 'package.json'), '{ "name": "versioned", ') },
  // Bounded by reload.timeout with the start's floor (10 s), not by the callers' callTimeoutMs.
  { what: 'a setup that never settles', step: 'activate', code: 'PLUGVISOR_RELOAD_TIMEOUT', message: /setup\(\)/, config: { log_level: 'silent', reload: { timeout: 1 } }, write: (d) => writeVersioned(d, { version: '2.0.0', limits: { callTimeoutMs: 60_000 }, hooks: `setup() { return new Promise(() => {}); },` }) },
];

for (const f of failures) {
  test(`a reload that fails on ${f.what} rolls back: the old version keeps serving with its state`, async (t) => {
    const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
    const sup = await startSupervisor(t, f.config === undefined ? {} : { config: f.config });
    await sup.load(dir);
    await sup.call('versioned', 'inc');
    const rollbacks: Array<{ step: string }> = [];
    sup.on('rollback', (e) => rollbacks.push(e));
    f.write(dir);
    const pending = sup.call('versioned', 'inc');
    const r = await sup.reload('versioned');
    assert.equal(r.ok, false);
    assert.equal(r.rolledBack, true);
    assert.equal(r.error?.code, f.code, r.error?.message);
    assert.equal(r.error?.step, f.step, r.error?.message);
    if (f.message !== undefined) assert.match(r.error?.message ?? '', f.message);
    assert.deepEqual(await pending, { version: '1.0.0', count: 2 });
    assert.deepEqual(await sup.call('versioned', 'get'), { version: '1.0.0', count: 2 });
    assert.equal(sup.info('versioned').status, 'serving');
    assert.equal(sup.info('versioned').version, '1.0.0');
    assert.deepEqual(rollbacks.map((e) => e.step), [f.step]);
  });
}

test('state that cannot be serialised fails the reload at the snapshot step and keeps the old version', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0', hooks: `setup(ctx) { ctx.state.fn = () => 1; },` });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  writeVersioned(dir, { version: '2.0.0' });
  const r = await sup.reload('versioned');
  assert.equal(r.ok, false);
  assert.equal(r.error?.step, 'snapshot');
  assert.equal(r.error?.code, 'PLUGVISOR_STATE_NOT_SERIALIZABLE');
  assert.deepEqual(await sup.call('versioned', 'inc'), { version: '1.0.0', count: 1 });
});

test('a reload whose calls in flight outlive reload.timeout rolls back at the drain step', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', reload: { timeout: 0.2 } } });
  await sup.load(dir);
  const echo = await connectEcho(t, sup, 'versioned');
  const held = sup.call('versioned', 'hold');
  writeVersioned(dir, { version: '2.0.0' });
  const r = await sup.reload('versioned');
  assert.equal(r.ok, false);
  assert.equal(r.error?.step, 'drain');
  assert.equal(r.error?.code, 'PLUGVISOR_RELOAD_TIMEOUT');
  assert.equal(await sup.call('versioned', 'release'), true);
  assert.equal(await held, '1.0.0');
  assert.deepEqual(await sup.call('versioned', 'get'), { version: '1.0.0', count: 0 });
  // The old worker's detach, still waiting for the held call when the host gave up, must not
  // release the client channel once the call finishes; the next reload then goes through.
  assert.deepEqual(await echo(1), { version: '1.0.0', m: 1 });
  const again = await sup.reload('versioned');
  assert.equal(again.ok, true, again.error?.message);
  assert.deepEqual(await echo(2), { version: '2.0.0', m: 2 });
});

test('a detach that answers after reload.timeout (a slow snapshot) still hands its client channels back to the old version', async (t) => {
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'slowstate', version: '1.0.0', type: 'module', main: 'index.js' },
    // Half a million records: serialising them takes far longer than the 20 ms reload.timeout.
    'index.js': `export default {
      state: () => ({ count: 0, records: new Map(Array.from({ length: 500000 }, (_, i) => [i, { i, name: 'r' + i }])) }),
      commands: { inc(ctx) { return ++ctx.state.count; }, size(ctx) { return ctx.state.records.size; } },
      connect(ctx, port) { port.on('message', (m) => port.postMessage({ count: ctx.state.count, m })); },
    };`,
  });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', reload: { timeout: 0.02 } } });
  await sup.load(dir);
  const echo = await connectEcho(t, sup, 'slowstate');
  assert.equal(await sup.call('slowstate', 'inc'), 1);
  const r = await sup.reload('slowstate', { force: true });
  assert.equal(r.ok, false);
  assert.equal(r.error?.step, 'detach', r.error?.message);
  assert.equal(r.error?.code, 'PLUGVISOR_RELOAD_TIMEOUT');
  assert.deepEqual(await echo(1), { count: 1, m: 1 });
  assert.equal(await sup.call('slowstate', 'inc'), 2);
  assert.equal(await sup.call('slowstate', 'size'), 500_000);
});

test('an old worker that dies while it serialises its state: the reload rolls back and the plugin restarts', async (t) => {
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'fragile', version: '1.0.0', type: 'module', main: 'index.js' },
    // node:v8 serialise reads getters: once armed, serialising the state ends the worker.
    'index.js': `export default {
      state: () => ({ count: 0, get boom() { if (globalThis.armed) process.exit(9); return 0; } }),
      commands: { inc(ctx) { return ++ctx.state.count; }, arm() { globalThis.armed = true; return true; } },
    };`,
  });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  await sup.call('fragile', 'inc');
  await sup.call('fragile', 'arm');
  const restarted = nextEvent(sup, 'restart', 'fragile');
  const r = await sup.reload('fragile', { force: true });
  assert.equal(r.ok, false);
  assert.equal(r.rolledBack, true);
  assert.equal(r.error?.step, 'detach', r.error?.message);
  assert.equal(r.error?.code, 'PLUGVISOR_PLUGIN_CRASHED');
  await restarted;
  // The old version's state died with it (no backup_state): the plugin serves again, from state().
  assert.equal(await sup.call('fragile', 'inc'), 1);
  assert.equal(sup.info('fragile').version, '1.0.0');
});

test('force skips validation but not the rollback', async (t) => {
  const root = tempDir(t);
  const dep = writeVersioned(join(root, 'dep'), { version: '1.0.0', name: 'dep' });
  const app = writeVersioned(join(root, 'app'), { version: '1.0.0', name: 'app', dependsOn: { dep: '^1.0.0' } });
  const sup = await startSupervisor(t);
  await sup.load(dep);
  await sup.load(app);
  writeVersioned(app, { version: '1.1.0', name: 'app', dependsOn: { dep: '^9.0.0' } });
  const refused = await sup.reload('app');
  assert.equal(refused.ok, false);
  assert.equal(refused.error?.step, 'validate');
  assert.equal(refused.error?.code, 'PLUGVISOR_DEPENDENCY_MISSING');
  const forced = await sup.reload('app', { force: true });
  assert.equal(forced.ok, true, forced.error?.message);
  writeFileSync(join(app, 'index.ts'), 'export default {{');
  const broken = await sup.reload('app', { force: true });
  assert.equal(broken.ok, false);
  assert.equal(broken.rolledBack, true);
  assert.equal((await sup.call('app', 'get') as Answer).version, '1.1.0');
  writeVersioned(app, { version: '1.2.0', name: 'app', dependsOn: { dep: '^9.0.0' }, hooks: `health() { return { ok: false }; },` });
  const unhealthy = await sup.reload('app', { force: true });
  assert.equal(unhealthy.error?.step, 'health', 'health() still decides the commit');
  assert.equal(unhealthy.rolledBack, true);
  assert.equal((await sup.call('app', 'get') as Answer).version, '1.1.0');
});

test('unknown plugin: reload rejects (misuse), it does not resolve ok: false', async (t) => {
  const sup = await startSupervisor(t);
  await assert.rejects(sup.reload('nope'), { code: 'PLUGVISOR_PLUGIN_NOT_FOUND' });
});

const MB8 = 8 * 1024 * 1024;

test('a reload that fails before the pause leaves no snapshot buffers reserved in the old worker', async (t) => {
  const base = tempDir(t);
  const big = writePlugin(join(base, 'big'), {
    'package.json': { name: 'big', version: '1.0.0', type: 'module', main: 'index.js' },
    // arrayBuffers after a full GC: what the worker still holds.
    'index.js': `import { setFlagsFromString } from 'node:v8';
      import { runInNewContext } from 'node:vm';
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc');
      export default {
        state: () => ({ samples: new Float64Array(${MB8 / 8}) }),
        commands: { async held() { gc(); await new Promise((r) => setTimeout(r, 20)); gc(); return process.memoryUsage().arrayBuffers; } },
      };`,
  });
  const dep = writePlugin(join(base, 'dep'), {
    'package.json': { name: 'dep', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { dependsOn: { big: '^1' }, stateTransfer: 'delta' } },
    // A state node:v8 cannot serialise: the pre-copy fails (before the pause).
    'index.js': `export default { state: () => ({ fn: () => 1 }), commands: { hi: () => 'hi' } };`,
  });
  const sup = await startSupervisor(t);
  await sup.load(big);
  await sup.load(dep);
  const before = (await sup.call('big', 'held')) as number;
  for (let i = 0; i < 3; i++) {
    const r = await sup.reload('big');
    assert.equal(r.ok, false);
    assert.equal(r.error?.step, 'precopy', r.error?.message);
  }
  const after = (await sup.call('big', 'held')) as number;
  assert.ok(after - before < MB8, `the old worker holds ${(after - before) / 2 ** 20} MB more after three failed reloads`);
});

test('a new version whose connect() throws on resume rolls back with the old version serving, its state and the client channels', { timeout: 20_000 }, async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  const first = await connectEcho(t, sup, 'versioned');
  const second = await connectEcho(t, sup, 'versioned');
  assert.deepEqual(await sup.call('versioned', 'inc'), { version: '1.0.0', count: 1 });
  // The first channel moves to the new worker, the second one's connect() throws there.
  writeVersioned(dir, {
    version: '2.0.0',
    prelude: 'let resumed = 0;',
    hooks: `connect(ctx, port) { if (++resumed === 2) throw new Error('cannot resume'); port.on('message', (m) => port.postMessage({ version: VERSION, m })); },`,
  });
  const restarts: unknown[] = [];
  sup.on('restart', (e) => restarts.push(e));
  const r = await sup.reload('versioned');
  assert.equal(r.ok, false);
  assert.equal(r.error?.step, 'transfer', r.error?.message);
  assert.equal(sup.info('versioned').status, 'serving');
  assert.deepEqual(await sup.call('versioned', 'get'), { version: '1.0.0', count: 1 });
  assert.deepEqual(await first(1), { version: '1.0.0', m: 1 });
  assert.deepEqual(await second(2), { version: '1.0.0', m: 2 });
  assert.deepEqual(restarts, []);
});
