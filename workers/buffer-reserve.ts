/**
 * Buffers for the snapshot a reload takes inside its pause, allocated and written once before the
 * pause starts. The snapshot copies each large typed array into a buffer of its own (see
 * state-codec.ts); a new buffer is memory the process has never touched, and the first write to
 * each of its pages is a page fault. On a virtual machine such a fault can cost far more than the
 * copy: on Node 20, 2 vCPUs, copying a 1 MB Float64Array into a new ArrayBuffer took 0.07 ms
 * usually and 3-6 ms in about one back-to-back reload in ten, with no garbage collection and no
 * other memory-map call in the process meanwhile (strace). A reserved buffer is already backed
 * when the pause copies into it.
 *
 * The reserve holds no more than the snapshot would allocate anyway, only earlier: from the
 * pre-copy (or the reserve request, for a full copy) until the detach, which takes what it needs
 * and drops the rest.
 */

/**
 * Smaller views stay inline in the serialised stream (state-codec.ts): below this a copy costs less
 * than a buffer and a transfer of its own. Nothing is reserved for them.
 */
export const OUT_OF_LINE_MIN_BYTES = 16 * 1024;

export class BufferReserve {
  readonly #bySize = new Map<number, ArrayBuffer[]>();

  /**
   * Allocate and touch one buffer per size. Best effort: when memory runs short the reserve is
   * dropped, and the snapshot allocates its own buffers (and fails there, if it must).
   */
  fill(sizes: Iterable<number>): void {
    try {
      for (const size of sizes) {
        const buffer = new ArrayBuffer(size);
        // A write, not a read: reading an untouched page maps the shared zero page, writing backs it.
        new Uint8Array(buffer).fill(0);
        const free = this.#bySize.get(size);
        if (free === undefined) this.#bySize.set(size, [buffer]);
        else free.push(buffer);
      }
    } catch {
      this.clear();
    }
  }

  /** A zero-filled buffer of exactly `size` bytes, if one is reserved; the caller owns it. */
  take(size: number): ArrayBuffer | undefined {
    const free = this.#bySize.get(size);
    const buffer = free?.pop();
    if (free !== undefined && free.length === 0) this.#bySize.delete(size);
    return buffer;
  }

  /** Bytes reserved and not taken. */
  get bytes(): number {
    let total = 0;
    for (const [size, free] of this.#bySize) total += size * free.length;
    return total;
  }

  clear(): void {
    this.#bySize.clear();
  }
}

/**
 * The byte lengths of the large views a snapshot of `state` copies out of line that are cheap to
 * find: the state itself, or its own top-level data properties (the shape of a typed-array state). Views
 * deeper in the state are copied into new buffers, as before. `below`: larger views are left out
 * (a delta sends only their changed bytes).
 */
export function topLevelViewSizes(state: unknown, below = Infinity): number[] {
  if (isLargeView(state)) return state.byteLength < below ? [state.byteLength] : [];
  if (state === null || typeof state !== 'object' || state instanceof Map || state instanceof Set || Array.isArray(state)) return [];
  const sizes: number[] = [];
  const seen = new Set<ArrayBufferView>();
  for (const key of Object.keys(state)) {
    // Data properties only: a getter is the plugin's code, run by the snapshot, not before it.
    const value: unknown = Object.getOwnPropertyDescriptor(state, key)?.value;
    // One view under two keys is serialised once.
    if (!isLargeView(value) || value.byteLength >= below || seen.has(value)) continue;
    seen.add(value);
    sizes.push(value.byteLength);
  }
  return sizes;
}

function isLargeView(value: unknown): value is ArrayBufferView {
  return ArrayBuffer.isView(value) && value.byteLength >= OUT_OF_LINE_MIN_BYTES;
}
