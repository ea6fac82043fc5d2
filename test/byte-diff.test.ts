/**
 * The typed-array diff of delta state transfer (a unit test of an internal): every changed byte is
 * inside a reported range, the ranges are chunk-aligned and merged, and unchanged data reports none,
 * for aligned and unaligned views, odd lengths, and bit-level changes such as 0 -> -0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHUNK_BYTES, changedRanges } from '../workers/byte-diff.js';

/** The reference: chunk by chunk, byte by byte. */
function naive(before: Uint8Array, now: Uint8Array): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let from = 0; from < now.byteLength; from += CHUNK_BYTES) {
    const to = Math.min(from + CHUNK_BYTES, now.byteLength);
    let differs = false;
    for (let i = from; i < to && !differs; i++) differs = before[i] !== now[i];
    if (!differs) continue;
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last[1] === from) last[1] = to;
    else ranges.push([from, to]);
  }
  return ranges;
}

function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

test('no change, no range', () => {
  const a = new Uint8Array(300_000).map((_, i) => i % 251);
  assert.deepEqual(changedRanges(a.slice(), a), []);
});

test('scattered writes: the ranges match a byte-by-byte reference, at any alignment and length', () => {
  const rnd = random(7);
  for (const [length, offset] of [[1_000_003, 0], [200_001, 1], [65_536, 3], [131_072 * 8, 8], [17, 0], [513, 2]] as const) {
    const backing = new Uint8Array(length + offset);
    const now = backing.subarray(offset);
    for (let i = 0; i < now.length; i++) now[i] = Math.floor(rnd() * 256);
    const before = now.slice();
    const writes = 1 + Math.floor(rnd() * 40);
    for (let w = 0; w < writes; w++) now[Math.floor(rnd() * now.length)] ^= 1 + Math.floor(rnd() * 255);
    now[now.length - 1] ^= 0x80; // the very last byte, past the last whole word
    assert.deepEqual(changedRanges(before, now), naive(before, now), `length ${length}, offset ${offset}`);
  }
});

test('a change of bits only (0 to -0, one NaN to another) is a change', () => {
  const now = new Float64Array(50_000);
  const before = new Uint8Array(now.buffer).slice();
  now[10] = -0;
  const nan = new DataView(now.buffer);
  nan.setFloat64(8 * 40_000, NaN);
  const mid = new Uint8Array(now.buffer).slice();
  nan.setUint32(8 * 40_000, 0x7ff80001); // another NaN payload
  assert.deepEqual(changedRanges(before, new Uint8Array(now.buffer)), [[0, CHUNK_BYTES], [8 * 40_000 - ((8 * 40_000) % CHUNK_BYTES), 8 * 40_000 - ((8 * 40_000) % CHUNK_BYTES) + CHUNK_BYTES]]);
  assert.equal(changedRanges(mid, new Uint8Array(now.buffer)).length, 1);
});

test('adjacent changed chunks merge into one range', () => {
  const before = new Uint8Array(CHUNK_BYTES * 10);
  const now = before.slice();
  for (const i of [CHUNK_BYTES * 2, CHUNK_BYTES * 3 + 7, CHUNK_BYTES * 4 + 100, CHUNK_BYTES * 8]) now[i] = 1;
  assert.deepEqual(changedRanges(before, now), [[CHUNK_BYTES * 2, CHUNK_BYTES * 5], [CHUNK_BYTES * 8, CHUNK_BYTES * 9]]);
});
