/**
 * The one JSON encoding of host values, shared by every surface that writes them: the control
 * channel (so `plugvisor ... --json`) and the HTTP dev server (replies and events). A command's
 * result crosses from its worker by structured clone, so it may hold values JSON cannot say as
 * they are (NaN, BigInt, Map, ArrayBuffer, cycles...); written through here, the same result reads
 * the same on both surfaces. docs/http-api.md ("Values JSON cannot hold") is the user's table of it.
 *
 * Rules, in the order applied:
 *   undefined → null (an object property that is undefined is left out, as JSON.stringify does)
 *   NaN, Infinity, -Infinity → "NaN", "Infinity", "-Infinity" (as BigInt: the text Number() reads back,
 *   not null, which a reader could not tell from a command that returned null); -0 → 0
 *   BigInt → decimal string;  boxed primitive → its primitive;  function, symbol → String(value)
 *   Date → ISO string (invalid → null);  RegExp → "/source/flags";  Error → { name, message, own fields }
 *   Map → object when every key is a string, else [key, value] entries;  Set → array
 *   typed array → array of its elements;  ArrayBuffer, SharedArrayBuffer, DataView → array of bytes
 *   a reference back to an object being written (a cycle) → "[Circular]"; a shared one is written each time
 *
 * The output is plain JSON data, so encoding it again changes nothing: the CLI prints what the
 * control channel sent through the same function.
 */

/** `value` as plain JSON data (see the rules above). */
export function toJsonValue(value: unknown): unknown {
  return encode(value, new WeakSet());
}

/** JSON text of `value`, encoded as toJsonValue says: always a JSON document (undefined → "null"). */
export function toJsonText(value: unknown, indent?: number): string {
  return JSON.stringify(toJsonValue(value), null, indent);
}

/** An Error's name, message and own fields (its code among them); never the stack; a cause as its message. */
export function errorToJson(err: Error): Record<string, unknown> {
  return encodeError(err, new WeakSet([err]));
}

// `seen` holds the objects on the path being written, not every object met: a value reached twice
// without a cycle (a leaf shared by two parents) is data, and is written both times.
function encode(value: unknown, seen: WeakSet<object>): unknown {
  switch (typeof value) {
    case 'undefined':
      return null;
    case 'number':
      return encodeNumber(value);
    case 'bigint':
      return value.toString();
    case 'function':
    case 'symbol':
      return String(value);
    case 'object':
      return value === null ? null : encodeObject(value, seen);
    default:
      return value;
  }
}

function encodeNumber(n: number): number | string {
  if (!Number.isFinite(n)) return String(n);
  // JSON.stringify writes -0 as 0 anyway; saying it here makes the encoded value itself agree.
  return n === 0 ? 0 : n;
}

function encodeObject(obj: object, seen: WeakSet<object>): unknown {
  if (seen.has(obj)) return '[Circular]';
  seen.add(obj);
  try {
    return encodeContainer(obj, seen);
  } finally {
    seen.delete(obj);
  }
}

function encodeContainer(obj: object, seen: WeakSet<object>): unknown {
  if (Array.isArray(obj)) return Array.from(obj, (v) => encode(v, seen));
  if (obj instanceof Error) return encodeError(obj, seen);
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
  if (obj instanceof RegExp) return String(obj);
  if (obj instanceof Map) {
    return [...obj.keys()].every((k) => typeof k === 'string')
      ? Object.fromEntries(Array.from(obj, ([k, v]) => [k, encode(v, seen)]))
      : Array.from(obj, ([k, v]) => [encode(k, seen), encode(v, seen)]);
  }
  if (obj instanceof Set) return Array.from(obj, (v) => encode(v, seen));
  if (obj instanceof DataView) return Array.from(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength));
  if (ArrayBuffer.isView(obj)) return Array.from(obj as unknown as ArrayLike<number | bigint>, (v) => encode(v, seen));
  if (obj instanceof ArrayBuffer || obj instanceof SharedArrayBuffer) return Array.from(new Uint8Array(obj));
  if (isBoxedPrimitive(obj)) return encode(obj.valueOf(), seen);
  // A plain object. toJSON is not asked: a result arrives by structured clone, which keeps no
  // methods, and host values written here are plain data too.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = encode(v, seen);
  return out;
}

function encodeError(err: Error, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  for (const [k, v] of Object.entries(err)) if (v !== undefined && k !== 'stack') out[k] = encode(v, seen);
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) out['cause'] = cause.message;
  return out;
}

/** new String('x'), new Number(1), new Boolean(false), Object(1n): structured clone keeps them boxed. */
function isBoxedPrimitive(obj: object): obj is { valueOf(): unknown } {
  return obj instanceof String || obj instanceof Number || obj instanceof Boolean || obj instanceof BigInt;
}
