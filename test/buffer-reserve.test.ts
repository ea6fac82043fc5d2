/**
 * The snapshot's buffers reserved before a reload's pause (a unit test of internals): the pause's
 * snapshot copies large typed arrays into them rather than into new memory, and nothing stays
 * reserved once the detach or a rollback's resume has run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StateImage } from '../src/protocol/state-image.js';
import { BufferReserve, OUT_OF_LINE_MIN_BYTES, topLevelViewSizes } from '../workers/buffer-reserve.js';
import { Transfer } from '../workers/control-handlers.js';
import { decodeState, encodeState } from '../workers/state-codec.js';
import { StateTracker } from '../workers/state-tracker.js';
import { handlersFor } from './worker-handlers.js';

const LARGE = 8 * 1024 * 1024; // diffed by a delta, not sent whole
const MEDIUM = 64 * 1024;

test('a reserve hands out each buffer once, by exact size, and clear() drops the rest', () => {
  const reserve = new BufferReserve();
  reserve.fill([MEDIUM, MEDIUM, 2 * MEDIUM]);
  assert.equal(reserve.bytes, 4 * MEDIUM);
  assert.equal(reserve.take(MEDIUM + 1), undefined, 'no buffer of another size');
  const a = reserve.take(MEDIUM);
  const b = reserve.take(MEDIUM);
  assert.ok(a !== undefined && b !== undefined && a !== b);
  assert.equal(a.byteLength, MEDIUM);
  assert.equal(reserve.take(MEDIUM), undefined, 'two were reserved');
  reserve.clear();
  assert.equal(reserve.bytes, 0);
  assert.equal(reserve.take(2 * MEDIUM), undefined);
});

test('a reserve that cannot be allocated is dropped, not thrown', () => {
  const reserve = new BufferReserve();
  reserve.fill([MEDIUM, Number.MAX_SAFE_INTEGER]);
  assert.equal(reserve.bytes, 0);
});

test('the sizes to reserve: the state itself if it is a large view, else its top-level large views, each once', () => {
  const shared = new Float64Array(MEDIUM / 8);
  assert.deepEqual(topLevelViewSizes(new Uint8Array(MEDIUM)), [MEDIUM]);
  assert.deepEqual(topLevelViewSizes({ a: shared, again: shared, b: Buffer.alloc(2 * MEDIUM), small: new Uint8Array(16), n: 1 }), [MEDIUM, 2 * MEDIUM]);
  assert.deepEqual(topLevelViewSizes({ a: new Uint8Array(OUT_OF_LINE_MIN_BYTES - 1) }), [], 'copied inline: nothing to reserve');
  assert.deepEqual(topLevelViewSizes({ a: new Uint8Array(MEDIUM), b: new Uint8Array(LARGE) }, LARGE), [MEDIUM], 'below the bound only');
  assert.deepEqual(topLevelViewSizes(new Map([['a', new Uint8Array(MEDIUM)]])), []);
  assert.deepEqual(topLevelViewSizes(null), []);
});

test('encodeState copies a large view into a reserved buffer of its size, and into a new one past the reserve', () => {
  const reserve = new BufferReserve();
  reserve.fill([MEDIUM]);
  const state = { one: new Uint8Array(MEDIUM).fill(3), two: new Uint8Array(MEDIUM).fill(4) };
  const image = encodeState(state, false, reserve);
  assert.equal(reserve.bytes, 0, 'the reserved buffer was used');
  assert.equal(image.buffers.length, 2);
  assert.deepEqual(decodeState(image), state);
});

test('a pre-copy reserves for the views a delta sends whole, without marking them changed', () => {
  const reserve = new BufferReserve();
  const ctx = {} as { state: Record<string, unknown> };
  const tracker = new StateTracker();
  tracker.install(ctx);
  ctx.state = { medium: new Float64Array(MEDIUM / 8), large: new Float64Array(LARGE / 8), n: 1 };
  tracker.precopy(reserve);
  assert.equal(reserve.bytes, MEDIUM, 'the large view is diffed, not sent whole: nothing reserved for it');
  const untouched = tracker.takeDelta(reserve);
  assert.ok(untouched !== undefined);
  assert.equal(untouched.buffers.length, 0, 'reserving read nothing through the tracker');
  assert.equal(reserve.bytes, MEDIUM, 'nothing sent whole, nothing taken');

  tracker.precopy(reserve); // a second reserve for the same view
  (ctx.state['medium'] as Float64Array)[5] = 2.5;
  const delta = tracker.takeDelta(reserve);
  assert.ok(delta !== undefined);
  assert.equal(delta.buffers.length, 1, 'the view read through the state travels whole');
  assert.equal(reserve.bytes, MEDIUM, 'in one of the reserved buffers');
});

test('the reserve request holds buffers until the detach, which uses them and drops what it did not', async () => {
  const state = { samples: new Float64Array(MEDIUM / 8).fill(1.5), also: new Uint8Array(2 * MEDIUM) };
  const { handlers, reserve } = handlersFor(state);
  await handlers.reserve({});
  assert.equal(reserve.bytes, 3 * MEDIUM);
  state.also = new Uint8Array(MEDIUM / 2); // changed size after the reserve: its buffer goes unused
  const answer = await handlers.detach({ state: 'image' });
  assert.ok(answer instanceof Transfer);
  const image = (answer.value as { state: StateImage }).state;
  assert.deepEqual(decodeState(image), state);
  assert.equal(reserve.bytes, 0, 'nothing held after the detach');
});

test('a rollback (resume) drops the reserve of a full copy and of a delta', async () => {
  const { handlers, reserve } = handlersFor({ samples: new Float64Array(MEDIUM / 8) });
  await handlers.reserve({});
  assert.equal(reserve.bytes, MEDIUM);
  await handlers.resume(null);
  assert.equal(reserve.bytes, 0);
  await handlers.precopy({});
  assert.equal(reserve.bytes, MEDIUM);
  await handlers.resume(null);
  assert.equal(reserve.bytes, 0);
});

test('sizing a reserve runs none of the state\'s getters', () => {
  let reads = 0;
  const state = { a: new Uint8Array(MEDIUM), get b() { reads++; return new Uint8Array(MEDIUM); } };
  assert.deepEqual(topLevelViewSizes(state), [MEDIUM]);
  assert.equal(reads, 0);
});
