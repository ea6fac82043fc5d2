import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSupervisor, tempDir, writePlugin } from './helpers.js';
import { writeVersioned } from './reload-helpers.js';

type Answer = { version: string; count: number };

test('delta transfer: callers mutating counters, Map entries and records in place during reloads lose nothing', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0', stateTransfer: 'delta' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  let running = true;
  const expectedHits = new Map<string, number>();
  const callers = Array.from({ length: 3 }, async (_, caller) => {
    let seq = 0;
    let acknowledged = 0;
    while (running) {
      const key = `k${seq % 7}`;
      const batch = await Promise.all([
        sup.call('versioned', 'inc', `c${caller}`, seq++),
        sup.call('versioned', 'touch', `${caller}:${key}`),
      ]);
      acknowledged++;
      expectedHits.set(`${caller}:${key}`, batch[1] as number);
    }
    return { caller, lastSeq: seq - 1, acknowledged };
  });
  const results = [];
  for (let i = 1; i <= 20; i++) {
    writeVersioned(dir, { version: `1.0.${i}`, stateTransfer: 'delta' });
    const r = await sup.reload('versioned');
    assert.equal(r.ok, true, r.error?.message);
    results.push(r);
  }
  running = false;
  const done = await Promise.all(callers);
  const total = done.reduce((n, c) => n + c.acknowledged, 0);
  const final = (await sup.call('versioned', 'get')) as Answer;
  assert.equal(final.version, '1.0.20');
  assert.equal(final.count, total);
  for (const c of done) assert.equal(await sup.call('versioned', 'logOf', `c${c.caller}`), c.lastSeq);
  for (const [key, hits] of expectedHits) {
    // One more touch must continue from exactly the acknowledged count.
    assert.equal(await sup.call('versioned', 'touch', key), hits + 1, key);
  }
  assert.ok(results.every((r) => r.precopyBytes > 0));
});

test('delta transfer falls back to a full copy when the state object is replaced after the pre-copy', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0', stateTransfer: 'delta' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  let running = true;
  let last = 0;
  const caller = (async () => {
    while (running) last = (await sup.call('versioned', 'replaceState')) as number;
  })();
  for (let i = 1; i <= 5; i++) {
    writeVersioned(dir, { version: `1.0.${i}`, stateTransfer: 'delta' });
    assert.equal((await sup.reload('versioned')).ok, true);
  }
  running = false;
  await caller;
  assert.equal(((await sup.call('versioned', 'get')) as Answer).count, last);
});

test('a rolled back delta reload leaves the old version serving, no longer tracking', async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0', stateTransfer: 'delta' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  await sup.call('versioned', 'touch', 'a');
  writeVersioned(dir, { version: '2.0.0', stateTransfer: 'delta', hooks: `health() { return { ok: false }; },` });
  const r = await sup.reload('versioned');
  assert.equal(r.ok, false);
  assert.equal(r.error?.step, 'health');
  assert.equal(await sup.call('versioned', 'touch', 'a'), 2);
  writeVersioned(dir, { version: '2.0.1', stateTransfer: 'delta' });
  assert.equal((await sup.reload('versioned')).ok, true);
  assert.equal(await sup.call('versioned', 'touch', 'a'), 3);
});

test('delta transfer: a typed array written in place crosses as the changed ranges only, writes through any reference included', async (t) => {
  const LENGTH = 600_000; // 4.8 MB of Float64: diffed, not sent whole
  const HOT = 16;
  const write = (version: string): string => writePlugin(dir, {
    'package.json': { name: 'samples', version, type: 'module', main: 'index.js', plugvisor: { stateTransfer: 'delta' } },
    'index.js': `let alias;
      export default {
        state: () => ({ samples: new Float64Array(${LENGTH}), writes: 0 }),
        setup(ctx) { alias = ctx.state.samples; },
        commands: {
          // Every other write goes through a reference kept since setup(), not through ctx.state.
          add(ctx, i) { const at = (i % ${HOT}) * ${Math.floor(LENGTH / HOT)}; (i % 2 ? alias : ctx.state.samples)[at] += 1; ctx.state.writes++; return ctx.state.writes; },
          sum(ctx) { let s = 0; for (const x of ctx.state.samples) s += x; return { sum: s, writes: ctx.state.writes, version: '${version}' }; },
        },
      };`,
  });
  const dir = tempDir(t);
  write('1.0.0');
  const sup = await startSupervisor(t);
  await sup.load(dir);
  let running = true;
  let acknowledged = 0;
  const caller = (async () => {
    for (let i = 0; running; i++) {
      await Promise.all([sup.call('samples', 'add', i), sup.call('samples', 'add', i + 1)]);
      acknowledged += 2;
      i++;
    }
  })();
  const results = [];
  for (let v = 1; v <= 8; v++) {
    write(`1.0.${v}`);
    const r = await sup.reload('samples');
    assert.equal(r.ok, true, r.error?.message);
    results.push(r);
  }
  running = false;
  await caller;
  assert.deepEqual(await sup.call('samples', 'sum'), { sum: acknowledged, writes: acknowledged, version: '1.0.8' });
  for (const r of results) {
    assert.ok(r.precopyBytes >= LENGTH * 8, `the pre-copy carries the whole array (${r.precopyBytes} bytes)`);
    // At most one 512-byte chunk per hot index, plus the delta's own framing.
    assert.ok(r.stateBytes <= HOT * 512 + 1024, `the pause carries the changed ranges only (${r.stateBytes} bytes)`);
  }
});

test('an old worker that dies after its pre-copy: the reload goes on with the restarted worker and its state', async (t) => {
  const pkg = (version: string) => ({ name: 'brittle', version, type: 'module', main: 'index.js', plugvisor: { stateTransfer: 'delta' } });
  // node:v8 serialise reads getters: once armed, the pre-copy ends the worker just after answering.
  // The records make the new worker's staging of that copy take long enough (tens of ms) for the
  // host to see the exit and restart the plugin before the pause.
  const code = (version: string) => `const records = Array.from({ length: 100000 }, (_, i) => ({ i, name: 'record ' + i }));
  export default {
    state: () => ({ count: 0, get boom() { if (globalThis.armed) { setTimeout(() => process.exit(9), 0); return records; } return 0; } }),
    commands: { inc(ctx) { return ++ctx.state.count; }, arm() { globalThis.armed = true; return true; }, v: () => '${version}' },
  };`;
  const dir = writePlugin(tempDir(t), { 'package.json': pkg('1.0.0'), 'index.js': code('1.0.0') });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  await sup.call('brittle', 'arm');
  const restarted = new Promise((resolve) => sup.once('restart', resolve));
  writePlugin(dir, { 'package.json': pkg('1.1.0'), 'index.js': code('1.1.0') });
  const r = await sup.reload('brittle');
  await restarted;
  // The restarted worker was not the one the handoff channel went to before the pause: its state
  // (a fresh one, from state()) crossed whole on a channel of its own.
  assert.equal(r.ok, true, `${r.error?.step}: ${r.error?.message}`);
  assert.equal(await sup.call('brittle', 'v'), '1.1.0');
  assert.equal(await sup.call('brittle', 'inc'), 1);
  const again = await sup.reload('brittle');
  assert.equal(again.ok, true, again.error?.message);
  assert.equal(await sup.call('brittle', 'inc'), 2);
});
