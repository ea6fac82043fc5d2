import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SpareWorkers } from '../src/runtime/spare-workers.js';
import { startSupervisor, tempDir, writePlugin } from './helpers.js';

const SHAPE = { resourceLimits: { maxOldGenerationSizeMb: 64 }, execArgv: [] };

test('a spare starts when one is asked for, waits while held, and is kept only for the limits asked for last', async (t) => {
  const spares = new SpareWorkers(true);
  t.after(() => spares.close());
  const taken: Array<Worker | undefined> = [];
  t.after(() => Promise.all(taken.map((w) => w?.terminate())));
  // Whatever comes back is ended when the test ends, also when an assertion fails first.
  const take = (shape = SHAPE): Worker | undefined => {
    const worker = spares.take(shape);
    taken.push(worker);
    return worker;
  };
  assert.equal(take(), undefined, 'none was started yet');
  assert.equal(spares.started, 1);
  const release = spares.hold();
  assert.ok(take() instanceof Worker);
  assert.equal(spares.started, 1, 'no spare starts while held');
  release();
  release();
  assert.equal(spares.started, 2, 'released once, a spare starts');
  const larger = { ...SHAPE, resourceLimits: { maxOldGenerationSizeMb: 96 } };
  assert.equal(take(larger), undefined, 'a spare with other limits is not handed out');
  assert.equal(spares.started, 3, 'it is replaced by one with the limits asked for');
  assert.ok(take(larger) instanceof Worker);
  await spares.close();
  assert.equal(take(), undefined, 'closed: none is handed out or started');
  assert.equal(spares.started, 4);
  assert.equal(new SpareWorkers(false).take(SHAPE), undefined);
});

/** Reports how its worker was started, its heap limit, its config and the environment it sees. */
function wherePlugin(dir: string, name: string, maxOldGenerationSizeMb: number): string {
  return writePlugin(dir, {
    'package.json': { name, version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { limits: { maxOldGenerationSizeMb } } },
    'index.js': `import { resourceLimits, threadId, workerData } from 'node:worker_threads';
export default {
  state: () => ({ calls: 0 }),
  commands: {
    where: (ctx) => ({ spare: workerData.spare === true, threadId, heapMb: resourceLimits.maxOldGenerationSizeMb, mark: process.env.PLUGVISOR_TEST_MARK ?? null, calls: ++ctx.state.calls }),
  },
};`,
  });
}

test('reloads start from the spare worker: the plugin gets its own limits and its state; a spare started before the host environment changed is replaced', async (t) => {
  const sup = await startSupervisor(t, { root: tempDir(t) });
  await sup.load(wherePlugin(tempDir(t), 'where', 64));
  const first = await sup.call('where', 'where');
  assert.deepEqual({ ...first, threadId: 0 }, { spare: false, threadId: 0, heapMb: 64, mark: null, calls: 1 });
  const reload = async (): Promise<typeof first> => {
    const r = await sup.reload('where', { force: true });
    assert.equal(r.ok, true, r.error?.message);
    return sup.call('where', 'where');
  };
  assert.deepEqual({ ...(await reload()), threadId: 0 }, { spare: true, threadId: 0, heapMb: 64, mark: null, calls: 2 });
  // Set after the spare started (a thread keeps the environment it started with, TZ for one).
  process.env.PLUGVISOR_TEST_MARK = 'set after the spare started';
  t.after(() => delete process.env.PLUGVISOR_TEST_MARK);
  const mark = 'set after the spare started';
  assert.deepEqual({ ...(await reload()), threadId: 0 }, { spare: false, threadId: 0, heapMb: 64, mark, calls: 3 });
  const last = await reload();
  assert.deepEqual({ ...last, threadId: 0 }, { spare: true, threadId: 0, heapMb: 64, mark, calls: 4 });
  assert.notEqual(last.threadId, first.threadId);
});

test('a plugin with other limits does not get the spare; spare_worker: false and preserve_breakpoints start none', async (t) => {
  const sup = await startSupervisor(t, { root: tempDir(t) });
  await sup.load(wherePlugin(tempDir(t), 'small', 64));
  await sup.load(wherePlugin(tempDir(t), 'large', 96));
  const large = await sup.call('large', 'where');
  assert.equal(large.heapMb, 96);
  assert.equal(large.spare, false);

  const off = await startSupervisor(t, { root: tempDir(t), config: { log_level: 'silent', reload: { spare_worker: false } } });
  await off.load(wherePlugin(tempDir(t), 'plain', 64));
  assert.equal((await off.reload('plain')).ok, true);
  assert.equal((await off.call('plain', 'where')).spare, false);

  // A debugger tells workers apart by their names, which a spare does not have.
  const debugging = await startSupervisor(t, { root: tempDir(t), config: { log_level: 'silent', development_mode: true, development: { preserve_breakpoints: true } } });
  await debugging.load(wherePlugin(tempDir(t), 'named', 64));
  assert.equal((await debugging.reload('named')).ok, true);
  assert.equal((await debugging.call('named', 'where')).spare, false);
});
