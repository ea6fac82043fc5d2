/**
 * Delta state transfer (plugvisor.stateTransfer: "delta"). A reload copies the whole state while
 * the old version still serves (the pre-copy), then, inside the pause, sends only what changed
 * since: the top-level keys that were written (or read as objects, which may be mutated in place),
 * the Map entries that were set, deleted or read, and whether the state object itself was replaced.
 * The pause then no longer grows with the size of the state.
 *
 * A top-level typed array, Buffer or DataView of 4 MB or more is not marked when read: the tracker
 * keeps a copy of its bytes at the pre-copy and sends only the ranges that differ, however they
 * were written. Below that size, sending it whole costs no more than the compare (see byte-diff.ts).
 *
 * Tracking sees what goes through the state object: a command that keeps a reference to a part of
 * the state across calls (in a closure, a timer) and mutates it later bypasses it. That, and object
 * identity shared between top-level keys (which a delta does not preserve), is why delta transfer
 * is opt-in.
 */
import type { StateImage } from '../src/protocol/state-image.js';
import { topLevelViewSizes, type BufferReserve } from './buffer-reserve.js';
import { changedRanges } from './byte-diff.js';
import { decodeState, encodeState } from './state-codec.js';

interface MapChanges {
  cleared: boolean;
  /** Any value may have been mutated (the Map was iterated): send it whole. */
  whole: boolean;
  set: Set<unknown>;
  deleted: Set<unknown>;
}

/** What the pause carries: the changes since the pre-copy. */
export interface StateDelta {
  keys: Array<[string, unknown]>;
  deleted: string[];
  maps: Array<[string, { cleared: boolean; set: Array<[unknown, unknown]>; deleted: unknown[] }]>;
  /** Typed arrays written in place: [byte offset, the bytes there now]. */
  views: Array<[string, Array<[number, Uint8Array]>]>;
}

/** Views this large are diffed against the pre-copy; smaller ones are sent whole when read. */
const DIFF_MIN_BYTES = 4 * 1024 * 1024;
/**
 * A Map most of whose entries changed is sent whole: entries one by one cost more to encode than
 * the Map (about 1.3x), and setting them into the staged copy more than decoding a new one. Node
 * 20, a Map of 8,625 records, medians: 50% changed, delta 9 ms (take + apply) vs whole 17 ms;
 * 75% changed, 24 ms vs 16.5 ms.
 */
const WHOLE_MAP_SHARE = 0.6;

export class StateTracker {
  #raw: unknown;
  #tracking = false;
  #replaced = false;
  /** Top-level values at the pre-copy: a key whose value is no longer the same was written. */
  #before = new Map<string, unknown>();
  readonly #dirty = new Set<string>();
  readonly #maps = new Map<string, MapChanges>();
  /** The bytes of each top-level view at the pre-copy. */
  readonly #views = new Map<string, Uint8Array>();
  /** Undo the accessors and method patches installed for tracking. */
  #restore: Array<() => void> = [];

  /** Install ctx.state as an accessor that goes through the tracker. */
  install(ctx: object): void {
    Object.defineProperty(ctx, 'state', {
      enumerable: true,
      configurable: false,
      get: () => this.#raw,
      set: (value: unknown) => {
        this.#raw = value;
        if (this.#tracking) this.#replaced = true;
      },
    });
  }

  get raw(): unknown {
    return this.#raw;
  }

  /**
   * Start tracking and return the full state, serialised. `reserve` gets buffers for the views a
   * delta would send whole (read before tracking starts: a read through the tracker marks them).
   */
  precopy(reserve?: BufferReserve): StateImage {
    this.stop();
    const image = encodeState(this.#raw);
    reserve?.fill(topLevelViewSizes(this.#raw, DIFF_MIN_BYTES));
    this.#replaced = false;
    this.#tracking = true;
    if (!isTrackable(this.#raw)) this.#replaced = true;
    else this.#watch(this.#raw);
    return image;
  }

  /** Stop tracking; the changes since precopy(), or undefined when only a full copy will do. */
  takeDelta(reserve?: BufferReserve): StateImage | undefined {
    const wasTracking = this.#tracking && !this.#replaced;
    this.#unwatch();
    try {
      return wasTracking ? this.#delta(reserve) : undefined;
    } finally {
      this.#forget();
    }
  }

  #delta(reserve: BufferReserve | undefined): StateImage {
    const record = this.#raw as Record<string, unknown>;
    const delta: StateDelta = { keys: [], deleted: [], maps: [], views: [] };
    for (const [key, value] of this.#before) {
      if (!Object.hasOwn(record, key)) delta.deleted.push(key);
      else if (record[key] !== value) this.#dirty.add(key);
    }
    for (const key of Object.keys(record)) if (!this.#before.has(key)) this.#dirty.add(key);
    for (const [key, before] of this.#views) {
      // Replaced (dirty) or deleted: handled as a key.
      if (this.#dirty.has(key) || !Object.hasOwn(record, key)) continue;
      const now = bytesOf(record[key] as ArrayBufferView);
      if (now.byteLength !== before.byteLength) this.#dirty.add(key);
      else {
        const changed = changedRanges(before, now);
        if (changed.length > 0) delta.views.push([key, changed.map(([from, to]) => [from, now.slice(from, to)])]);
      }
    }
    for (const key of this.#dirty) if (Object.hasOwn(record, key)) delta.keys.push([key, record[key]]);
    for (const [key, changes] of this.#maps) {
      const map = record[key];
      if (this.#dirty.has(key) || !(map instanceof Map)) continue;
      if (changes.whole || changes.set.size + changes.deleted.size > WHOLE_MAP_SHARE * map.size) {
        delta.keys.push([key, map]);
        continue;
      }
      delta.maps.push([key, {
        cleared: changes.cleared,
        set: [...changes.set].filter((k) => map.has(k)).map((k) => [k, map.get(k)]),
        deleted: [...changes.deleted],
      }]);
    }
    return encodeState(delta, false, reserve);
  }

  /** Stop tracking and drop what it recorded (the pre-copy's copies of large typed arrays too). */
  stop(): void {
    this.#unwatch();
    this.#forget();
  }

  /** The state's own properties and Maps are plain again. */
  #unwatch(): void {
    this.#tracking = false;
    for (const undo of this.#restore.splice(0).reverse()) undo();
  }

  #forget(): void {
    this.#dirty.clear();
    this.#maps.clear();
    this.#views.clear();
    this.#before.clear();
  }

  /**
   * Accessors on the state's own keys (so the object keeps its identity: no Proxy can leak into
   * the state), and patched methods on its Maps. An object read through a key may be mutated in
   * place, so reading it marks the key; Map entries are marked by set, delete and get.
   */
  #watch(state: Record<string, unknown>): void {
    for (const key of Object.keys(state)) {
      let value = state[key];
      this.#before.set(key, value);
      const mapChanges = value instanceof Map ? this.#watchMap(key, value) : undefined;
      // A large view's bytes are compared at the end instead: reading it does not send it whole.
      const diffed = ArrayBuffer.isView(value) && value.byteLength >= DIFF_MIN_BYTES;
      if (diffed) this.#views.set(key, bytesOf(value as ArrayBufferView).slice());
      const watched = mapChanges !== undefined || diffed;
      Object.defineProperty(state, key, {
        configurable: true,
        enumerable: true,
        get: () => {
          if (value !== null && typeof value === 'object' && (!watched || value !== this.#before.get(key))) this.#dirty.add(key);
          return value;
        },
        set: (next: unknown) => {
          value = next;
          this.#dirty.add(key);
        },
      });
      this.#restore.push(() => {
        // Only a key that still holds our accessor goes back to a data property.
        const d = Object.getOwnPropertyDescriptor(state, key);
        if (d?.get !== undefined) Object.defineProperty(state, key, { value, writable: true, configurable: true, enumerable: true });
      });
    }
  }

  #watchMap(key: string, map: Map<unknown, unknown>): MapChanges {
    const c: MapChanges = { cleared: false, whole: false, set: new Set(), deleted: new Set() };
    this.#maps.set(key, c);
    const proto = Map.prototype;
    const patches: Record<string | symbol, unknown> = {
      set(k: unknown, v: unknown) {
        c.set.add(k);
        c.deleted.delete(k);
        return proto.set.call(map, k, v);
      },
      delete(k: unknown) {
        c.set.delete(k);
        c.deleted.add(k);
        return proto.delete.call(map, k);
      },
      clear() {
        c.cleared = true;
        c.set.clear();
        c.deleted.clear();
        proto.clear.call(map);
      },
      get(k: unknown) {
        const v = proto.get.call(map, k);
        // An object read out of the Map may be changed in place: send the entry again.
        if (v !== null && typeof v === 'object') c.set.add(k);
        return v;
      },
    };
    // values(), entries(), forEach(), iteration: anything may be mutated through them.
    for (const name of ['values', 'entries', 'forEach', Symbol.iterator] as const) {
      const original = proto[name] as (...a: unknown[]) => unknown;
      patches[name] = function (this: unknown, ...args: unknown[]) {
        c.whole = true;
        return original.apply(map, args);
      };
    }
    for (const name of Reflect.ownKeys(patches)) {
      Object.defineProperty(map, name, { value: patches[name], configurable: true, writable: true, enumerable: false });
    }
    this.#restore.push(() => {
      for (const name of Reflect.ownKeys(patches)) delete (map as unknown as Record<string | symbol, unknown>)[name];
    });
    return c;
  }
}

/** Apply a delta to the staged copy of the state. */
export function applyDelta(staged: unknown, image: StateImage): unknown {
  const delta = decodeState(image) as StateDelta;
  const state = staged as Record<string, unknown>;
  for (const key of delta.deleted) delete state[key];
  for (const [key, value] of delta.keys) state[key] = value;
  for (const [key, changes] of delta.maps) {
    const map = state[key] as Map<unknown, unknown>;
    if (changes.cleared) map.clear();
    for (const k of changes.deleted) map.delete(k);
    for (const [k, v] of changes.set) map.set(k, v);
  }
  for (const [key, ranges] of delta.views) {
    const bytes = bytesOf(state[key] as ArrayBufferView);
    for (const [offset, patch] of ranges) bytes.set(patch, offset);
  }
  return state;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** A plain, extensible object whose own keys can all take an accessor. */
function isTrackable(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || !Object.isExtensible(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(Object.getOwnPropertyDescriptors(value)).every((d) => d.configurable === true && d.get === undefined && d.set === undefined);
}

/**
 * Run one delta cycle (watch, write, take the delta, apply it) on a small state. A worker takes a
 * delta once in its life, inside a reload's pause, where its first, uncompiled run cost about
 * 0.3 ms more than later ones (Node 20, a Map of 8,625 records, 64 entries written).
 */
export function warmStateTracker(): void {
  const ctx: { state?: unknown } = {};
  const tracker = new StateTracker();
  tracker.install(ctx);
  ctx.state = { m: new Map([['k', { n: 0 }]]), n: 0, gone: true };
  const staged = decodeState(tracker.precopy());
  const state = ctx.state as { m: Map<string, { n: number }>; n: number; gone?: boolean };
  state.m.get('k')!.n++;
  state.m.set('j', { n: 1 });
  state.m.delete('j');
  state.n++;
  delete state.gone;
  applyDelta(staged, tracker.takeDelta()!);
}
