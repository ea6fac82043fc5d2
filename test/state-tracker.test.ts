/**
 * Delta tracking (a unit test of an internal): what a pre-copy plus a delta rebuilds must equal the
 * state at the pause, whatever happened in between, and the delta must carry only what changed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageSize } from '../src/protocol/state-image.js';
import { decodeState } from '../workers/state-codec.js';
import { applyDelta, StateTracker } from '../workers/state-tracker.js';

const BIG = 600_000; // 4.8 MB of Float64: diffed rather than sent whole

function tracked(state: Record<string, unknown>): { ctx: { state: Record<string, unknown> }; tracker: StateTracker } {
  const ctx = {} as { state: Record<string, unknown> };
  const tracker = new StateTracker();
  tracker.install(ctx);
  ctx.state = state;
  return { ctx, tracker };
}

function recordMap(n: number): Map<string, { hits: number }> {
  return new Map(Array.from({ length: n }, (_, i) => [`k${i}`, { hits: 0 }]));
}

/** Pre-copy, run `change`, take the delta, and rebuild the state from both as a new worker would. */
function roundTrip(state: Record<string, unknown>, change: (s: Record<string, unknown>) => void): { rebuilt: unknown; deltaBytes: number; now: unknown } {
  const { ctx, tracker } = tracked(state);
  const staged = decodeState(tracker.precopy());
  change(ctx.state);
  const delta = tracker.takeDelta();
  assert.ok(delta !== undefined, 'a delta');
  return { rebuilt: applyDelta(staged, delta), deltaBytes: imageSize(delta), now: ctx.state };
}

test('a large typed array written in place, through the state or an alias, crosses as its changed chunks', () => {
  const samples = new Float64Array(BIG);
  const { rebuilt, deltaBytes, now } = roundTrip({ samples, n: 0 }, (s) => {
    (s['samples'] as Float64Array)[10] = 1;
    samples[BIG - 1] = -0; // a bit-level change through a reference kept outside ctx.state
    s['n'] = 2;
  });
  assert.deepEqual(rebuilt, now);
  assert.ok(Object.is((rebuilt as { samples: Float64Array }).samples[BIG - 1], -0));
  assert.ok(deltaBytes < 4096, `${deltaBytes} bytes`);
});

test('a large typed array that is deleted or replaced after the pre-copy', () => {
  const deleted = roundTrip({ samples: new Float64Array(BIG), n: 1 }, (s) => {
    delete s['samples'];
  });
  assert.deepEqual(deleted.rebuilt, { n: 1 });
  const replaced = roundTrip({ samples: new Float64Array(BIG), n: 1 }, (s) => {
    s['samples'] = new Float64Array(3).fill(7);
  });
  assert.deepEqual(replaced.rebuilt, replaced.now);
  const retyped = roundTrip({ samples: new Float64Array(BIG), n: 1 }, (s) => {
    s['samples'] = 'gone';
  });
  assert.deepEqual(retyped.rebuilt, { samples: 'gone', n: 1 });
});

test('Map entries set, deleted and mutated in place after a get, and new top-level keys', () => {
  const records = recordMap(10);
  const { ctx, tracker } = tracked({ records, small: new Uint8Array(8) });
  const staged = decodeState(tracker.precopy()) as { records: Map<string, { hits: number }> };
  const stagedRecords = staged.records;
  const m = ctx.state['records'] as Map<string, { hits: number }>;
  m.get('k0')!.hits++;
  m.delete('k1');
  m.set('d', { hits: 5 });
  (ctx.state['small'] as Uint8Array)[3] = 9;
  ctx.state['added'] = true;
  const rebuilt = applyDelta(staged, tracker.takeDelta()!) as typeof staged;
  assert.deepEqual(rebuilt, ctx.state);
  assert.equal(rebuilt.records, stagedRecords, 'the changed entries were set into the staged Map');
});

test('a Map most of whose entries changed crosses whole instead of entry by entry', () => {
  const { ctx, tracker } = tracked({ records: recordMap(10) });
  const staged = decodeState(tracker.precopy()) as { records: Map<string, { hits: number }> };
  const stagedRecords = staged.records;
  const m = ctx.state['records'] as Map<string, { hits: number }>;
  for (let i = 0; i < 7; i++) m.get(`k${i}`)!.hits += i;
  const rebuilt = applyDelta(staged, tracker.takeDelta()!) as typeof staged;
  assert.deepEqual(rebuilt, ctx.state);
  assert.notEqual(rebuilt.records, stagedRecords, 'a new Map replaced the staged one');
});

test('after a delta, or stop(), the state is plain again: no accessor is left behind', () => {
  const { ctx, tracker } = tracked({ samples: new Float64Array(BIG), m: new Map() });
  tracker.precopy();
  tracker.takeDelta();
  assert.equal(Object.getOwnPropertyDescriptor(ctx.state, 'samples')?.get, undefined);
  assert.equal(Object.hasOwn(ctx.state['m'] as object, 'set'), false);
  tracker.precopy();
  tracker.stop();
  assert.equal(Object.getOwnPropertyDescriptor(ctx.state, 'samples')?.get, undefined);
  assert.equal(tracker.takeDelta(), undefined, 'no delta once stopped');
});
