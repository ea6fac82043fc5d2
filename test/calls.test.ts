import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { rejectionOf } from './expect.js';
import { startSupervisor, tempDir, writePlugin } from './helpers.js';

/** The caller's view, as an interface (npm test type-checks this file: an interface has no index signature, and a method may be optional). */
interface CounterCommands {
  get(): number;
  increment?(by?: number): number;
}

test('a stateful plugin keeps its state between calls, through call() and plugin()', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  assert.equal(await sup.call('counter', 'increment', 5), 5);
  const counter = sup.plugin<CounterCommands>('counter');
  assert.equal(await counter.get(), 5);
  assert.equal(await counter.increment(), 6);
});

test('a plugin() proxy that is serialised, printed or converted to a string calls no command (nor leaves a rejection unhandled)', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  const counter = sup.plugin<CounterCommands>('counter');
  const called: string[] = [];
  sup.observeCalls((_plugin, command) => called.push(command));
  assert.equal(JSON.stringify({ counter }), '{"counter":{}}');
  assert.throws(() => `${counter as object}`, TypeError);
  assert.equal(await counter.get(), 0);
  assert.deepEqual(called, ['get']);
});

test('pipelined calls are answered in issue order', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  const results = await Promise.all(Array.from({ length: 1000 }, () => sup.call('counter', 'increment', 1)));
  assert.deepEqual(results, Array.from({ length: 1000 }, (_, i) => i + 1));
});

test('a dependency is called over ctx.plugins', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  await sup.load('plugins/store');
  await sup.load('plugins/greeter');
  await sup.call('greeter', 'setGreeting', 'Ada', 'Hi');
  assert.equal(await sup.call('greeter', 'greet', 'Ada'), 'Hi, Ada! (visit 1)');
  assert.equal(await sup.call('counter', 'get'), 1);
});

test('a dependency\'s error rethrown by its dependent reaches the host as the dependent\'s, code and fields kept', async (t) => {
  const root = tempDir(t);
  writePlugin(join(root, 'inner'), {
    'package.json': { name: 'inner', version: '1.0.0', type: 'module', main: 'index.js' },
    'index.js': `export default { commands: { fail() { throw Object.assign(new Error('inner failed'), { code: 'E_INNER', detail: 7 }); } } };`,
  });
  writePlugin(join(root, 'outer'), {
    'package.json': { name: 'outer', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { dependsOn: { inner: '^1.0.0' } } },
    'index.js': `export default { commands: {
      relay: (ctx) => ctx.plugins.inner.fail(),
      seen: async (ctx) => { try { await ctx.plugins.inner.fail(); } catch (err) { return { plugin: err.plugin, command: err.command }; } },
    } };`,
  });
  const sup = await startSupervisor(t);
  await sup.load(join(root, 'inner'));
  await sup.load(join(root, 'outer'));
  const err = await rejectionOf(sup.call('outer', 'relay'));
  assert.equal(err.code, 'E_INNER');
  assert.equal(err['detail'], 7);
  assert.equal(err['plugin'], 'outer');
  assert.equal(err['command'], 'relay');
  assert.deepEqual(await sup.call('outer', 'seen'), { plugin: 'inner', command: 'fail' }, 'inside the dependent, the error names the dependency');
});

test('ctx.log is a pino logger at the host log level, bound to the plugin and its worker generation, across reloads', async (t) => {
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'logs', version: '1.0.0', type: 'module', main: 'index.js' },
    'index.js': `export default {
      // Logging in setup(): from the second worker on, the logger is created while the worker starts.
      setup(ctx) { ctx.log.debug('ready'); },
      commands: {
        whoami: (ctx) => ({ level: ctx.log.level, bindings: ctx.log.bindings(), same: ctx.log === ctx.log, info: typeof ctx.log.info }),
      },
    };`,
  });
  const sup = await startSupervisor(t, { config: { log_level: 'fatal' } });
  await sup.load(dir);
  assert.deepEqual(await sup.call('logs', 'whoami'), { level: 'fatal', bindings: { name: 'logs', generation: 1 }, same: true, info: 'function' });
  for (const generation of [2, 3]) {
    const r = await sup.reload('logs', { force: true });
    assert.equal(r.ok, true, r.error?.message);
    assert.deepEqual(await sup.call('logs', 'whoami'), { level: 'fatal', bindings: { name: 'logs', generation }, same: true, info: 'function' });
  }
});

test('a command called as a method of its commands object sees that object as `this`, in a worker and in a pool', async (t) => {
  const root = tempDir(t);
  const index = [
    'export default {',
    '  commands: {',
    '    double(ctx, n) { return n * 2; },',
    '    quad(ctx, n) { return this.double(ctx, this.double(ctx, n)); },',
    '  },',
    '};',
  ].join('\n');
  writePlugin(join(root, 'methods'), { 'package.json': { name: 'methods', version: '1.0.0', type: 'module', main: 'index.js' }, 'index.js': index });
  writePlugin(join(root, 'pooled-methods'), {
    'package.json': { name: 'pooled-methods', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { pool: { maxThreads: 1 } } },
    'index.js': index,
  });
  const sup = await startSupervisor(t, { root });
  await sup.load('methods');
  await sup.load('pooled-methods');
  assert.equal(await sup.call('methods', 'quad', 3), 12);
  assert.equal(await sup.call('pooled-methods', 'quad', 3), 12);
});
