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
 * Never throws: it runs where the plugin's own error is being reported, and a getter that throws
 * there would crash the worker with the error it was reporting.
 */
export function toWireError(err: unknown, depth = 0): WireError {
  try {
    return flatten(err, depth);
  } catch {
    return { name: 'Error', message: 'the plugin threw a value that cannot be read (a getter or proxy that throws)', fields: {} };
  }
}

function flatten(err: unknown, depth: number): WireError {
  if (!(err instanceof Error)) {
    // A thrown object that looks like an error (`throw { code, message }`) keeps what it says; it
    // has no stack of its own, and the receiving side's would point at the wrong place.
    if (err !== null && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
      const { name: given, message } = err as { name?: unknown; message: string };
      const name = typeof given === 'string' ? given : 'Error';
      return { name, message, stack: `${name}: ${message}`, code: codeOf(err), fields: ownFields(err) };
    }
    return { name: 'Error', message: describeThrown(err), fields: thrownValueField(err) };
  }
  const wire: WireError = { name: err.name, message: err.message, stack: err.stack, code: codeOf(err), fields: ownFields(err) };
  // Set by new Error(message, { cause }), and so not enumerable.
  if (Object.hasOwn(err, 'cause') && !('cause' in wire.fields)) {
    if (err.cause instanceof Error && depth < MAX_CAUSE_DEPTH) wire.cause = toWireError(err.cause, depth + 1);
    else wire.fields['cause'] = cloneableOrString(err.cause);
  }
  return wire;
}

function ownFields(value: object): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === 'code' || key === 'name' || key === 'message' || key === 'stack') continue;
    try {
      fields[key] = cloneableOrString((value as Record<string, unknown>)[key]);
    } catch {
      // a getter that throws: the field is left out, the error still crosses
    }
  }
  return fields;
}

function codeOf(value: object): string | undefined {
  const { code } = value as { code?: unknown };
  return typeof code === 'string' ? code : code === undefined || code === null ? undefined : String(code);
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
    if (!Object.hasOwn(fields, key)) Object.defineProperty(err, key, { value, enumerable: contextVisible, configurable: true, writable: true });
  }
  Object.assign(err, fields);
  const code = wire.code ?? fallbackCode;
  if (code !== undefined) (err as { code?: string }).code = code;
  return err;
}

function describeThrown(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return `non-error thrown: ${JSON.stringify(value)}`;
  } catch {
    return `non-error thrown: ${String(value)}`;
  }
}

function thrownValueField(value: unknown): Record<string, unknown> {
  return value === undefined ? {} : { thrown: cloneableOrString(value) };
}

function cloneableOrString(value: unknown): unknown {
  if (value === null || typeof value !== 'object' && typeof value !== 'function') return value;
  try {
    return structuredClone(value);
  } catch {
    return String(value);
  }
}
