import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSupervisor, tempDir, writePlugin } from './helpers.js';

/** The caller's view, as an interface (npm test type-checks this file: an interface has no index signature). */
interface CounterCommands {
  get(): number;
  increment(by?: number): number;
}

test('a stateful plugin keeps its state between calls, through call() and plugin()', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  assert.equal(await sup.call('counter', 'increment', 5), 5);
  const counter = sup.plugin<CounterCommands>('counter');
  assert.equal(await counter.get(), 5);
  assert.equal(await counter.increment(), 6);
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
