/**
 * Pooled stateless plugins (plugvisor.pool): calls spread over a piscina pool of threads, with the
 * same error, timeout and crash semantics as a plugin in a worker of its own.
 */
import { strict as assert } from 'node:assert';
import { pbkdf2Sync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Supervisor } from 'plugvisor';
import { settlesWithin } from '../src/settles-within.js';
import { fixture, nextEvent, startSupervisor, tempDir, writePlugin } from './helpers.js';

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, any>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, any>;
  }
  assert.fail('expected a rejection');
}

async function loadPool(t: Parameters<typeof startSupervisor>[0], name: string): Promise<Supervisor> {
  const sup = await startSupervisor(t);
  await sup.load(fixture(name));
  return sup;
}

test('a pooled plugin reports itself as pooled and knows its commands once started', async (t) => {
  const sup = await loadPool(t, 'pool-basic');
  const info = sup.info('pool-basic');
  assert.equal(info.pooled, true);
  assert.equal(info.status, 'serving');
  assert.ok(info.commands?.includes('threadId'));
  assert.ok(info.commands?.includes('rendezvous'));
});

test('concurrent calls run on more than one thread at the same time', async (t) => {
  const sup = await loadPool(t, 'pool-basic');
  const shared = new SharedArrayBuffer(4);
  // Each call only returns once both are inside the command at once: one worker could never do it.
  const results = await Promise.all([sup.call('pool-basic', 'rendezvous', shared, 2), sup.call('pool-basic', 'rendezvous', shared, 2)]);
  assert.deepEqual(results.map((r) => r.met), [true, true]);
  assert.notEqual(results[0].threadId, results[1].threadId);
  const mainThreadId = 0;
  assert.ok(results.every((r) => r.threadId !== mainThreadId));
});

test('many concurrent calls are all answered, each with its own result', async (t) => {
  const sup = await loadPool(t, 'pool-basic');
  const values = Array.from({ length: 200 }, (_, i) => ({ i, tags: new Set([`t${i}`]) }));
  const results = await Promise.all(values.map((v) => sup.call('pool-basic', 'echo', v)));
  assert.deepEqual(results, values);
});

test('an unknown command fails with PLUGVISOR_COMMAND_NOT_FOUND', async (t) => {
  const sup = await loadPool(t, 'pool-basic');
  const err = await rejection(sup.call('pool-basic', 'nope'));
  assert.equal(err.code, 'PLUGVISOR_COMMAND_NOT_FOUND');
  assert.match(err.message, /no command "nope"/);
});

test("a command's error keeps its name, message, stack, code and own fields", async (t) => {
  const sup = await loadPool(t, 'pool-basic');
  const err = await rejection(sup.call('pool-basic', 'quota'));
  assert.equal(err.name, 'QuotaError');
  assert.equal(err.message, 'quota of 3 exceeded');
  assert.equal(err.code, 'E_QUOTA');
  assert.equal(err.limit, 3);
  assert.deepEqual(err.details, { used: 4 });
  assert.match(err.stack ?? '', /pool-basic[/\\]index\.ts/);
  assert.equal(err.plugin, 'pool-basic');

  const plain = await rejection(sup.call('pool-basic', 'rejectPlain'));
  assert.equal(plain.name, 'TypeError');
  assert.equal(plain.message, 'plain failure');
  assert.equal(plain.code, 'PLUGVISOR_COMMAND_FAILED');

  const own = await rejection(sup.call('pool-basic', 'failStep'));
  assert.equal(own.code, 'PLUGVISOR_COMMAND_FAILED', 'a command error, not a failed setup');
  assert.equal(own.message, 'step 2 of the workflow failed');
  assert.equal(own.step, 'setup');
  assert.equal(own.command, 'failStep');
});

test('arguments or results that cannot be cloned fail only their call', async (t) => {
  const sup = await loadPool(t, 'pool-basic');
  const args = await rejection(sup.call('pool-basic', 'echo', () => 1));
  assert.equal(args.code, 'PLUGVISOR_ARGS_NOT_CLONEABLE');
  const result = await rejection(sup.call('pool-basic', 'fn'));
  assert.equal(result.code, 'PLUGVISOR_RESULT_NOT_CLONEABLE');
  assert.equal(await sup.call('pool-basic', 'echo', 'still here'), 'still here');
  assert.equal(sup.info('pool-basic').stats.restarts, 0);
});

test('each thread has a scratch state of its own, starting from state()', async (t) => {
  const sup = await loadPool(t, 'pool-basic');
  const counts = [];
  for (let i = 0; i < 3; i++) counts.push(await sup.call('pool-basic', 'scratch'));
  // Sequential calls may land on any thread: each thread counts only its own calls.
  assert.ok(counts.every((n) => Number.isInteger(n) && n >= 1 && n <= 3));
});

test('a call that outlives callTimeoutMs fails with PLUGVISOR_CALL_TIMEOUT and its thread is replaced', async (t) => {
  const sup = await loadPool(t, 'pool-timeout');
  let crashes = 0;
  sup.on('crash', () => crashes++);
  const before = await sup.call('pool-timeout', 'threadId');
  const err = await rejection(sup.call('pool-timeout', 'spin'));
  assert.equal(err.code, 'PLUGVISOR_CALL_TIMEOUT');
  assert.equal(err.plugin, 'pool-timeout');
  // The pool has one thread: it answers again only because the spinning thread was replaced.
  const after = await sup.call('pool-timeout', 'threadId');
  assert.notEqual(after, before);
  const info = sup.info('pool-timeout');
  assert.equal(info.status, 'serving');
  assert.equal(info.stats.timeouts, 1);
  assert.equal(info.stats.restarts, 0);
  assert.equal(crashes, 0);
});

test('a thread that exits fails its call with PLUGVISOR_PLUGIN_CRASHED, emits crash and restart, and the pool serves on', async (t) => {
  const sup = await loadPool(t, 'pool-basic');
  const crash = nextEvent(sup, 'crash', 'pool-basic');
  const restart = nextEvent(sup, 'restart', 'pool-basic');
  const err = await rejection(sup.call('pool-basic', 'exit', 7));
  assert.equal(err.code, 'PLUGVISOR_PLUGIN_CRASHED');
  assert.equal(err.reason, 'exit');
  assert.equal(err.exitCode, 7);
  const crashEvent = await crash;
  assert.equal(crashEvent.reason, 'exit');
  assert.equal(crashEvent.failedCalls, 1);
  const restartEvent = await restart;
  assert.equal(restartEvent.attempt, 1);
  assert.equal(restartEvent.state, 'fresh');
  assert.equal(await sup.call('pool-basic', 'echo', 'after'), 'after');
  assert.equal(sup.info('pool-basic').stats.restarts, 1);
  assert.equal(sup.info('pool-basic').status, 'serving');
});

test('a thread that dies of an uncaught error fails its call with reason "uncaught"', async (t) => {
  const sup = await loadPool(t, 'pool-basic');
  const crash = nextEvent(sup, 'crash', 'pool-basic');
  const err = await rejection(sup.call('pool-basic', 'uncaught'));
  assert.equal(err.code, 'PLUGVISOR_PLUGIN_CRASHED');
  assert.equal(err.reason, 'uncaught');
  assert.match(err.message, /kaboom from a timer/);
  assert.equal((await crash).reason, 'uncaught');
  assert.equal(await sup.call('pool-basic', 'echo', 1), 1);
});

test('a thread that runs out of memory fails its call with reason "oom"', async (t) => {
  const sup = await loadPool(t, 'pool-basic');
  const crash = nextEvent(sup, 'crash', 'pool-basic');
  const err = await rejection(sup.call('pool-basic', 'oom'));
  assert.equal(err.code, 'PLUGVISOR_PLUGIN_CRASHED');
  assert.equal(err.reason, 'oom');
  assert.equal((await crash).reason, 'oom');
  assert.equal(await sup.call('pool-basic', 'echo', 2), 2);
});

test('more crashes than restart.maxRestarts allows mark the plugin failed: its calls then fail at once', async (t) => {
  const sup = await loadPool(t, 'pool-crashy');
  const restart = nextEvent(sup, 'restart', 'pool-crashy');
  assert.equal((await rejection(sup.call('pool-crashy', 'exit', 1))).code, 'PLUGVISOR_PLUGIN_CRASHED');
  await restart;
  assert.equal(await sup.call('pool-crashy', 'ok'), 'ok');
  assert.equal((await rejection(sup.call('pool-crashy', 'exit', 1))).code, 'PLUGVISOR_PLUGIN_CRASHED');
  const info = sup.info('pool-crashy');
  assert.equal(info.status, 'failed');
  assert.match(info.error ?? '', /more than 1 restarts in 60 s/);
  const failed = await rejection(sup.call('pool-crashy', 'ok'));
  assert.equal(failed.code, 'PLUGVISOR_PLUGIN_FAILED');
  assert.equal(failed.plugin, 'pool-crashy');
});

test('a lazy pool starts no thread before its first call', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load(fixture('pool-lazy'));
  const before = sup.info('pool-lazy');
  assert.equal(before.status, 'registered');
  assert.equal(before.commands, undefined);
  assert.equal(before.lastLoaded, undefined);
  // Calls issued before the pool is up wait for it, in order; an unknown one fails once the shape is known.
  const [where, missing] = await Promise.allSettled([sup.call('pool-lazy', 'where'), sup.call('pool-lazy', 'missing')]);
  assert.deepEqual(where, { status: 'fulfilled', value: 'worker' });
  assert.equal(missing.status, 'rejected');
  assert.equal((missing as PromiseRejectedResult).reason.code, 'PLUGVISOR_COMMAND_NOT_FOUND');
  const after = sup.info('pool-lazy');
  assert.equal(after.status, 'serving');
  assert.deepEqual(after.commands, ['where']);
});

test("a lazy pool whose start fails: a call made as soon as that is reported starts it again and fails with the reason, never hangs", { timeout: 20_000 }, async (t) => {
  const sup = await startSupervisor(t);
  await sup.load(writePlugin(tempDir(t), {
    'package.json': { name: 'pool-lazy-fails', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { activation: 'lazy', pool: { maxThreads: 1 } } },
    'index.js': "export default { setup() { throw new Error('no database'); }, commands: { get: () => 1 } };\n",
  }));
  // Made in the first call's rejection handler, before the failed start has let go of the pool.
  const again = await sup.call('pool-lazy-fails', 'get').then(
    () => assert.fail('the first call should fail'),
    () => rejection(sup.call('pool-lazy-fails', 'get')),
  );
  assert.equal(again.code, 'PLUGVISOR_SETUP_FAILED');
  assert.match(again.message, /no database/);
  assert.equal(sup.info('pool-lazy-fails').status, 'registered');
});

test('a pool whose setup() throws does not load, and says which step failed', async (t) => {
  const sup = await startSupervisor(t);
  const err = await rejection(sup.load(fixture('pool-setup-fails')));
  assert.equal(err.code, 'PLUGVISOR_SETUP_FAILED');
  assert.equal(err.step, 'setup');
  assert.match(err.message, /no database/);
  assert.equal((err.cause as { code?: string }).code, 'E_NO_DB');
  assert.deepEqual(sup.list().map((p) => p.name), []);
});

test('stop() lets the calls a pool holds finish before ending its threads', async (t) => {
  const sup = await loadPool(t, 'pool-basic');
  const gate = new SharedArrayBuffer(4);
  const blocked = sup.call('pool-basic', 'block', gate);
  const unloaded = sup.unload('pool-basic');
  const cell = new Int32Array(gate);
  Atomics.store(cell, 0, 1);
  Atomics.notify(cell, 0);
  assert.equal(await blocked, 'released');
  await unloaded;
  assert.equal((await rejection(sup.call('pool-basic', 'echo', 1))).code, 'PLUGVISOR_PLUGIN_NOT_FOUND');
});

test('a pooled call still running when stop() times out fails with PLUGVISOR_PLUGIN_STOPPED saying so', async (t) => {
  const sup = await startSupervisor(t, { config: { log_level: 'silent', reload: { timeout: 0.2 } } });
  await sup.load(fixture('pool-basic'));
  // Never released: only stop()'s timeout ends it.
  const blocked = rejection(sup.call('pool-basic', 'block', new SharedArrayBuffer(4)));
  await sup.unload('pool-basic');
  const err = await blocked;
  assert.equal(err.code, 'PLUGVISOR_PLUGIN_STOPPED');
  assert.match(err.message, /^plugin "pool-basic" was stopped while call block was queued or running in its pool \(it did not finish within the stop's timeout\)$/);
});

test('a pooled plugin cannot have a connect() hook', async (t) => {
  const sup = await startSupervisor(t);
  const err = await rejection(sup.load(fixture('pool-connect')));
  assert.equal(err.code, 'PLUGVISOR_MANIFEST_INVALID');
  assert.ok(err.message.includes(join(fixture('pool-connect'), 'package.json')));
  assert.match(err.message, /plugvisor\.pool/);
  assert.match(err.message, /connect\(\)/);
  assert.deepEqual(sup.list(), []);
});

test('a pooled plugin cannot depend on other plugins', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  const err = await rejection(sup.load(fixture('pool-deps')));
  assert.equal(err.code, 'PLUGVISOR_MANIFEST_INVALID');
  assert.ok(err.message.includes(join(fixture('pool-deps'), 'package.json')));
  assert.match(err.message, /plugvisor\.dependsOn/);
});

test('no plugin can depend on a pooled plugin', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/hasher');
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'needs-hasher', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { dependsOn: { hasher: '^1.0.0' } } },
    'index.js': 'export default { commands: { hash: (ctx, s) => ctx.plugins.hasher.sha256(s) } };\n',
  });
  const err = await rejection(sup.load(dir));
  assert.equal(err.code, 'PLUGVISOR_MANIFEST_INVALID');
  assert.ok(err.message.includes(join(dir, 'package.json')));
  assert.match(err.message, /plugvisor\.dependsOn\.hasher/);
  assert.deepEqual(sup.list().map((p) => p.name), ['hasher']);
});

test('the example hasher plugin runs in a pool', async (t) => {
  const sup = await startSupervisor(t);
  const info = await sup.load('plugins/hasher');
  assert.equal(info.pooled, true);
  assert.deepEqual(info.commands, ['sha256', 'stretch']);
  assert.equal(await sup.call('hasher', 'sha256', 'abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const expected = pbkdf2Sync('secret', 'plugvisor', 1000, 32, 'sha256').toString('hex');
  const hasher = sup.plugin<{ stretch(password: string, iterations?: number): string }>('hasher');
  const results = await Promise.all(Array.from({ length: 8 }, () => hasher.stretch('secret', 1000)));
  assert.deepEqual(results, Array(8).fill(expected));
});

test('reloading a pooled plugin swaps its pool: calls in flight finish on the old code, later calls run the new', async (t) => {
  const sup = await startSupervisor(t);
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'pool-reload', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { pool: { maxThreads: 2 } } },
    'index.js': 'export default { commands: { version: () => 1, block: (_ctx, shared) => { Atomics.wait(new Int32Array(shared), 0, 0); return "old"; } } };\n',
  });
  await sup.load(dir);
  const gate = new SharedArrayBuffer(4);
  const inFlight = sup.call('pool-reload', 'block', gate);
  writePlugin(dir, {
    'package.json': { name: 'pool-reload', version: '1.1.0', type: 'module', main: 'index.js', plugvisor: { pool: { maxThreads: 2 } } },
    'index.js': 'export default { commands: { version: () => 2 } };\n',
  });
  const result = await sup.reload('pool-reload');
  assert.equal(result.ok, true, result.error?.message);
  assert.equal(result.toVersion, '1.1.0');
  assert.equal(await sup.call('pool-reload', 'version'), 2);
  const cell = new Int32Array(gate);
  Atomics.store(cell, 0, 1);
  Atomics.notify(cell, 0);
  assert.equal(await inFlight, 'old');
  const info = sup.info('pool-reload');
  assert.equal(info.reloadCount, 1);
  assert.deepEqual(info.commands, ['version']);
});

/** A pooled plugin of one thread whose `version` command answers 1 (rewrite index.js for the next version). */
function versionPool(dir: string, name: string): string {
  return writePlugin(dir, {
    'package.json': { name, version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { pool: { maxThreads: 1 } } },
    'index.js': 'export default { commands: { version: () => 1 } };\n',
  });
}

test('reloadAll: a pooled plugin whose new version fails to start rolls back the whole group, and the other plugins keep serving', async (t) => {
  const sup = await startSupervisor(t);
  // Loaded first, so the worker plugin is swapped before the pool in the transaction's swap step.
  const keeper = writePlugin(tempDir(t), {
    'package.json': { name: 'group-keeper', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { limits: { callTimeoutMs: 2000 } } },
    'index.js': 'export default { state: () => ({ n: 0 }), commands: { inc: (ctx) => ++ctx.state.n, get: (ctx) => ctx.state.n } };\n',
  });
  const pool = versionPool(tempDir(t), 'group-pool');
  await sup.load(keeper);
  await sup.load(pool);
  assert.equal(await sup.call('group-keeper', 'inc'), 1);
  writePlugin(pool, { 'index.js': 'export default { setup() { throw new Error("bad setup"); }, commands: { version: () => 2 } };\n' });
  const results = await sup.reloadAll();
  assert.deepEqual(results.map((r) => [r.plugin, r.ok, r.rolledBack]), [['group-keeper', false, true], ['group-pool', false, true]]);
  assert.equal(results[1]!.error?.code, 'PLUGVISOR_SETUP_FAILED');
  assert.equal(results[1]!.error?.step, 'setup');
  // The old version of the worker plugin serves on, with its state.
  assert.equal(await sup.call('group-keeper', 'get'), 1);
  assert.equal(await sup.call('group-keeper', 'inc'), 2);
  assert.equal(sup.info('group-keeper').reloadCount, 0);
  assert.equal(await sup.call('group-pool', 'version'), 1);
});

for (const failedFirst of [false, true]) {
  const pool = failedFirst ? 'a failed pool' : 'a pool';
  test(`reloadAll: ${pool}'s new threads start before the pause, so the other plugins of the group keep serving meanwhile`, async (t) => {
    const sup = await startSupervisor(t);
    const dir = tempDir(t);
    const started = join(dir, 'importing');
    const release = join(dir, 'release');
    const keeper = writePlugin(join(dir, 'keeper'), {
      'package.json': { name: 'busy-keeper', version: '1.0.0', type: 'module', main: 'index.js' },
      'index.js': 'export default { state: () => ({ n: 0 }), commands: { inc: (ctx) => ++ctx.state.n } };\n',
    });
    const poolDir = versionPool(join(dir, 'pool'), 'slow-pool');
    await sup.load(keeper);
    if (failedFirst) {
      writePlugin(poolDir, { 'index.js': 'export default { commands: { version: () => 1, die: () => process.exit(3) } };\n' });
      const pkg = join(poolDir, 'package.json');
      writeFileSync(pkg, JSON.stringify({ ...JSON.parse(readFileSync(pkg, 'utf8')), plugvisor: { pool: { maxThreads: 1 }, restart: { maxRestarts: 0, windowSeconds: 60 } } }));
    }
    await sup.load(poolDir);
    if (failedFirst) {
      await sup.call('slow-pool', 'die').catch(() => undefined);
      assert.equal(sup.info('slow-pool').status, 'failed');
    }
    // The new version's import holds until the test releases it.
    writePlugin(poolDir, {
      'index.js': `import { existsSync, writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(started)}, '');
while (!existsSync(${JSON.stringify(release)})) await new Promise((resolve) => setTimeout(resolve, 10));
export default { commands: { version: () => 2 } };
`,
    });
    const reloaded = sup.reloadAll();
    while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 10));
    const served = await settlesWithin(sup.call('busy-keeper', 'inc'), 10_000);
    writeFileSync(release, '');
    const results = await reloaded;
    assert.ok(served, 'the worker plugin answered while the pool\'s new version was importing');
    assert.deepEqual(results.map((r) => [r.plugin, r.ok]), [['busy-keeper', true], ['slow-pool', true]]);
    assert.equal(await sup.call('slow-pool', 'version'), 2);
    assert.equal(sup.info('slow-pool').status, 'serving');
  });
}

test('reloadAll: a group that rolls back at a failed plugin\'s start leaves its pool on the old code', async (t) => {
  const sup = await startSupervisor(t);
  const pool = versionPool(tempDir(t), 'kept-pool');
  const dies = writePlugin(tempDir(t), {
    'package.json': { name: 'dies-once', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { restart: { maxRestarts: 0, windowSeconds: 60 } } },
    'index.js': 'export default { commands: { die: () => process.exit(3) } };\n',
  });
  await sup.load(pool);
  await sup.load(dies);
  await sup.call('dies-once', 'die').catch(() => undefined);
  assert.equal(sup.info('dies-once').status, 'failed');
  writePlugin(pool, { 'index.js': 'export default { commands: { version: () => 2 } };\n' });
  writePlugin(dies, { 'index.js': 'export default { setup() { throw new Error("still broken"); }, commands: {} };\n' });
  const results = await sup.reloadAll();
  assert.deepEqual(results.map((r) => [r.plugin, r.ok, r.rolledBack]), [['kept-pool', false, true], ['dies-once', false, true]]);
  assert.equal(await sup.call('kept-pool', 'version'), 1);
});

/**
 * A pool of two threads whose `block` waits on a shared cell: two blocked calls hold both threads,
 * so the calls after them queue inside piscina.
 */
function blockingPool(dir: string, name: string): string {
  return writePlugin(dir, {
    'package.json': { name, version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { pool: { maxThreads: 2, minThreads: 2 } } },
    'index.js': 'export default { commands: { echo: (_ctx, v) => v, block: (_ctx, shared) => { Atomics.wait(new Int32Array(shared), 0, 0); return "released"; } } };\n',
  });
}

function release(gate: SharedArrayBuffer): void {
  const cell = new Int32Array(gate);
  Atomics.store(cell, 0, 1);
  Atomics.notify(cell, 0);
}

// piscina's close() resolves once a thread is idle (with two threads, after the first task to end:
// it counts that thread twice) and then destroys the pool, failing the tasks still in its queue.
// Each way resolves once the pool no longer takes calls, with what is left to await.
const retirements: Array<[string, (sup: Supervisor, name: string) => Promise<{ done: Promise<unknown> }>]> = [
  ['a reload', async (sup, name) => {
    const result = await sup.reload(name);
    assert.equal(result.ok, true, result.error?.message);
    return { done: Promise.resolve() };
  }],
  ['unload', async (sup, name) => ({ done: sup.unload(name) })],
];
for (const [what, retire] of retirements) {
  test(`${what} answers the calls queued in the old pool, not only the running ones`, async (t) => {
    const sup = await startSupervisor(t);
    const name = `pool-queued-${what.replace(' ', '-')}`;
    await sup.load(blockingPool(tempDir(t), name));
    const gates = [new SharedArrayBuffer(4), new SharedArrayBuffer(4)];
    const running = gates.map((gate) => sup.call(name, 'block', gate));
    // Handed to the pool, waiting there for a thread.
    const queued = [1, 2, 3, 4].map((i) => sup.call(name, 'echo', i));
    const retired = await retire(sup, name);
    // One thread at a time: the first to end must not close the pool under the other's queue.
    release(gates[0]!);
    assert.equal(await running[0], 'released');
    release(gates[1]!);
    assert.equal(await running[1], 'released');
    assert.deepEqual(await Promise.all(queued), [1, 2, 3, 4]);
    await retired.done;
  });
}
