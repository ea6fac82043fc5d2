import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serialize } from 'node:v8';
import { imageSize, imageTransferList } from '../src/protocol/state-image.js';
import { decodeState, encodeState } from '../workers/state-codec.js';

const BIG = 64 * 1024;

function richState(): Record<string, unknown> {
  const shared = new Float64Array(BIG / 8).map((_, i) => i * 0.5);
  const self: Record<string, unknown> = {
    f64: shared,
    again: shared,
    u8: new Uint8Array(BIG).map((_, i) => i & 0xff),
    i16: new Int16Array(BIG / 2).fill(-7),
    big: new BigInt64Array(BIG / 8).fill(2n ** 62n),
    buf: Buffer.alloc(BIG, 'ab'),
    view: new DataView(new ArrayBuffer(BIG)),
    small: new Float32Array([1.5, 2.5]),
    smallBuf: Buffer.from('tiny'),
    // One of every other kind, inline: decoding Node's encoding needs Node's type table.
    i8: new Int8Array([-1, 2]),
    u8c: new Uint8ClampedArray([255, 3]),
    u16: new Uint16Array([65535]),
    i32: new Int32Array([-5]),
    u32: new Uint32Array([7]),
    bigU: new BigUint64Array([2n ** 63n]),
    map: new Map<unknown, unknown>([['k', { d: new Date(5), s: new Set(['a']) }]]),
    n: 2n ** 70n,
  };
  (self['view'] as DataView).setUint32(8, 0xdeadbeef);
  self['self'] = self;
  return self;
}

function viewsOf(state: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(state).filter(([, v]) => ArrayBuffer.isView(v)).map(([k, v]) => [k, `${Buffer.isBuffer(v) ? 'Buffer' : (v as object).constructor.name}`]));
}

test('a state survives encode and decode: typed arrays of every kind, Buffers, DataViews, identity, cycles', () => {
  const state = richState();
  const image = encodeState(state);
  const back = decodeState(image) as Record<string, unknown>;
  assert.deepEqual(back, state);
  assert.deepEqual(viewsOf(back), viewsOf(state));
  assert.equal(back['self'], back, 'cycle');
  assert.equal(back['f64'], back['again'], 'one array referenced twice stays one array');
  assert.equal((back['view'] as DataView).getUint32(8), 0xdeadbeef);
});

test('large views travel out of line, each in a buffer of its own that the decoded state views without a copy', () => {
  const state = richState();
  const image = encodeState(state);
  assert.equal(image.buffers.length, 6, 'f64 (once), u8, i16, big, buf, view; the small ones stay inline');
  assert.ok(image.bytes.byteLength < 4096, `the serialised stream holds no large view (${image.bytes.byteLength} bytes)`);
  assert.ok(imageSize(image) >= 6 * BIG);
  assert.equal(imageTransferList(image).length, 7);
  const back = decodeState(image) as Record<string, ArrayBufferView>;
  assert.ok(image.buffers.includes(back['f64']!.buffer as ArrayBuffer), 'the decoded Float64Array is a view of the carried buffer');
  // The old version's state is never touched by the new one.
  (back['u8'] as Uint8Array)[0] = 99;
  assert.equal((state['u8'] as Uint8Array)[0], 0);
});

test('a portable encoding is plain v8.serialize output, and plain v8.serialize output decodes', () => {
  const state = richState();
  const portable = encodeState(state, true);
  assert.equal(portable.buffers.length, 0);
  assert.deepEqual(Buffer.from(portable.bytes), serialize(state));
  const back = decodeState(serialize(state)) as Record<string, unknown>;
  assert.deepEqual(back, state);
  assert.deepEqual(viewsOf(back), viewsOf(state));
});

test('a view at an odd offset into a shared buffer is copied out whole, not the buffer around it', () => {
  const sab = new SharedArrayBuffer(BIG + 16);
  const inner = new Float64Array(sab, 8, BIG / 8).fill(3);
  const image = encodeState({ inner });
  assert.equal(image.buffers[0]!.byteLength, BIG);
  assert.ok(!(image.buffers[0] instanceof SharedArrayBuffer));
  assert.deepEqual(decodeState(image), { inner: new Float64Array(BIG / 8).fill(3) });
});

test('small typed arrays inline beside out-of-line ones decode at any alignment', () => {
  // Strings of 0-7 characters shift the inline arrays' bytes to every offset modulo 8: the ones
  // that land unaligned are copied out, the others viewed in place.
  for (let pad = 0; pad < 8; pad++) {
    const state = { s: 'x'.repeat(pad), f: new Float64Array([1.5, -2, 3]), i: new Int32Array([7, -8]), big: new Float64Array(BIG / 8).fill(1) };
    const back = decodeState(encodeState(state)) as typeof state;
    assert.deepEqual(back, state, `pad ${pad}`);
    assert.ok(back.f instanceof Float64Array && back.i instanceof Int32Array);
  }
});
