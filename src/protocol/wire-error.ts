/**
 * Errors cross the thread boundary explicitly. Structured clone drops an error's prototype and own
 * fields such as `code`, so the sending side flattens it and the receiving side rebuilds it.
 */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** Own enumerable fields of the original error that survived a structured clone. */
  fields: Record<string, unknown>;
  /** The original's `cause`, when that is an Error too (any other cause is in `fields`). */
  cause?: WireError;
}

/** How deep a chain of causes crosses (a cause can point back at its error). */
const MAX_CAUSE_DEPTH = 4;

/**
 * Never throws, and returns only cloneable values: it runs where the plugin's own error is being
 * reported, and a getter that throws or a field that cannot be cloned there would crash the worker
 * with the error it was reporting. A part that cannot be read is left out, not the whole error.
 */
export function toWireError(err: unknown, depth = 0): WireError {
  try {
    return flatten(err, depth);
  } catch {
    return { name: 'Error', message: 'the plugin threw a value that cannot be read (a getter or proxy that throws)', fields: {} };
  }
}

/**
 * Tag what a plugin's lifecycle step threw with that step, so the host can report it. A value that
 * is not an Error (a plain `{ code, message }` keeps both), or a frozen one, becomes an Error first.
 */
export function withStep(thrown: unknown, step: string): Error {
  const err = thrown instanceof Error && Object.isExtensible(thrown) ? thrown : fromWireError(toWireError(thrown), undefined);
  return Object.assign(err, { step });
}

function flatten(err: unknown, depth: number): WireError {
  const isError = err instanceof Error;
  // A thrown object that looks like an error (`throw { code, message }`) keeps what it says.
  if (!isError && !(err !== null && typeof err === 'object' && typeof read(err, 'message') === 'string')) {
    return { name: 'Error', message: describeThrown(err), fields: thrownValueField(err) };
  }
  const e = err as object;
  const name = stringOr(read(e, 'name'), 'Error');
  const message = stringOr(read(e, 'message'), '');
  const stack = read(e, 'stack');
  const wire: WireError = {
    name,
    message,
    // A plain object has no stack of its own, and the receiving side's would point at the wrong place.
    stack: isError ? (typeof stack === 'string' ? stack : undefined) : `${name}: ${message}`,
    code: codeOf(e),
    fields: ownFields(e),
  };
  if (Object.hasOwn(e, 'cause')) {
    const cause = read(e, 'cause');
    if (cause instanceof Error && depth < MAX_CAUSE_DEPTH) wire.cause = toWireError(cause, depth + 1);
    else wire.fields['cause'] = cloneableOrString(cause);
  }
  return wire;
}

function read(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function ownFields(value: object): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    // cause crosses on its own (an Error cause as an error), however it was set
    if (key === 'code' || key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
    try {
      fields[key] = cloneableOrString((value as Record<string, unknown>)[key]);
    } catch {
      // a getter that throws: the field is left out, the error still crosses
    }
  }
  return fields;
}

function codeOf(value: object): string | undefined {
  const code = read(value, 'code');
  if (typeof code === 'string') return code;
  if (code === undefined || code === null) return undefined;
  try {
    return String(code);
  } catch {
    return undefined;
  }
}

/**
 * Rebuild an Error on the receiving side, with the original name, message, stack, code, cause and
 * fields. `context` (which plugin, which command) never overwrites a field of the original's own;
 * `contextVisible: false` keeps it out of the error's enumerable fields, so that a plugin that
 * rethrows a dependency's error does not send the dependency's name on as its own field.
 */
export function fromWireError(wire: WireError, fallbackCode: string | undefined, context: Record<string, unknown> = {}, contextVisible = true): Error {
  const { cause: causeField, ...fields } = wire.fields;
  const cause = wire.cause !== undefined ? fromWireError(wire.cause, undefined) : causeField;
  const err = new Error(wire.message, wire.cause !== undefined || 'cause' in wire.fields ? { cause } : undefined);
  Object.defineProperty(err, 'name', { value: wire.name, enumerable: false, configurable: true, writable: true });
  if (wire.stack !== undefined) err.stack = wire.stack;
  for (const [key, value] of Object.entries(context)) {
    if (fields[key] !== undefined) continue;
    delete fields[key];
    Object.defineProperty(err, key, { value, enumerable: contextVisible, configurable: true, writable: true });
  }
  Object.assign(err, fields);
  const code = wire.code ?? fallbackCode;
  if (code !== undefined) (err as { code?: string }).code = code;
  return err;
}

function describeThrown(value: unknown): string {
  if (typeof value === 'string') return value;
  return `non-error thrown: ${safeText(value, true)}`;
}

function thrownValueField(value: unknown): Record<string, unknown> {
  return value === undefined ? {} : { thrown: cloneableOrString(value) };
}

function cloneableOrString(value: unknown): unknown {
  if (value === null || typeof value !== 'object' && typeof value !== 'function') return value;
  try {
    return structuredClone(value);
  } catch {
    return safeText(value, false);
  }
}

/** JSON where asked and possible, else String(), else the object's tag: a null-prototype object or a proxy refuses String(). */
function safeText(value: unknown, json: boolean): string {
  try {
    const text = json ? JSON.stringify(value) : undefined;
    if (text !== undefined) return text;
  } catch { /* fall through */ }
  try {
    return String(value);
  } catch { /* fall through */ }
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return '[unreadable]';
  }
}
