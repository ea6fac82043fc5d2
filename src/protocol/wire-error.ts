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
}

export function toWireError(err: unknown): WireError {
  if (!(err instanceof Error)) {
    // A thrown object that looks like an error (`throw { code, message }`) keeps what it says.
    if (err !== null && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
      const { name } = err as { name?: unknown };
      return { name: typeof name === 'string' ? name : 'Error', message: (err as { message: string }).message, code: codeOf(err), fields: ownFields(err) };
    }
    return { name: 'Error', message: describeThrown(err), fields: thrownValueField(err) };
  }
  const fields = ownFields(err);
  // Set by new Error(message, { cause }), and so not enumerable.
  if (Object.hasOwn(err, 'cause') && !('cause' in fields)) fields['cause'] = cloneableOrString(err.cause);
  return { name: err.name, message: err.message, stack: err.stack, code: codeOf(err), fields };
}

function ownFields(value: object): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === 'code' || key === 'name' || key === 'message' || key === 'stack') continue;
    fields[key] = cloneableOrString((value as Record<string, unknown>)[key]);
  }
  return fields;
}

function codeOf(value: object): string | undefined {
  const { code } = value as { code?: unknown };
  return typeof code === 'string' ? code : code === undefined || code === null ? undefined : String(code);
}

/**
 * Rebuild an Error on the receiving side, with the original name, message, stack, code and fields.
 * `extra` (which plugin, which command) never overwrites a field of the original's own.
 */
export function fromWireError(wire: WireError, fallbackCode: string, extra: Record<string, unknown> = {}): Error {
  const { cause, ...fields } = wire.fields;
  const err = new Error(wire.message, 'cause' in wire.fields ? { cause } : undefined);
  Object.defineProperty(err, 'name', { value: wire.name, enumerable: false, configurable: true, writable: true });
  if (wire.stack !== undefined) err.stack = wire.stack;
  Object.assign(err, extra, fields);
  (err as { code?: string }).code = wire.code ?? fallbackCode;
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
