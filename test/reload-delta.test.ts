import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSupervisor, tempDir } from './helpers.js';
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
