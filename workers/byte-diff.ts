/**
 * Which parts of a typed array changed since a copy of it was taken (delta state transfer): the
 * 512-byte chunks that differ, adjacent ones merged. It runs inside a reload's pause, so it must
 * cost about a memory scan whatever the JIT has done: native compares (memcmp) of 64 KB blocks,
 * then of the 4 KB and 512-byte pieces of the blocks that differ. A JavaScript word loop is faster
 * once optimised, but 4-7 ms per MB on a thread that has not optimised it yet, which is every
 * plugin worker at its first reload. Measured on Node 20, cold: 1 MB with 64 scattered writes
 * 0.8-2.4 ms, 50 MB with 64 writes 4-5.5 ms.
 */
export const CHUNK_BYTES = 512;
const LEVELS = [64 * 1024, 4 * 1024, CHUNK_BYTES];

/** [from, to) byte ranges of `now` that differ from `before`; both the same length. */
export function changedRanges(before: Uint8Array, now: Uint8Array): Array<[number, number]> {
  const a = Buffer.from(before.buffer, before.byteOffset, before.byteLength);
  const b = Buffer.from(now.buffer, now.byteOffset, now.byteLength);
  const ranges: Array<[number, number]> = [];
  const walk = (from: number, to: number, level: number): void => {
    const size = LEVELS[level]!;
    for (let start = from; start < to; start += size) {
      const end = Math.min(start + size, to);
      if (b.compare(a, start, end, start, end) === 0) continue;
      if (level < LEVELS.length - 1) {
        walk(start, end, level + 1);
        continue;
      }
      const last = ranges[ranges.length - 1];
      if (last !== undefined && last[1] === start) last[1] = end;
      else ranges.push([start, end]);
    }
  };
  walk(0, b.byteLength, 0);
  return ranges;
}
