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
    return { name: 'Error', message: describeThrown(err), fields: thrownValueField(err) };
  }
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(err)) {
    if (key === 'code' || key === 'name' || key === 'message' || key === 'stack') continue;
    fields[key] = cloneableOrString((err as unknown as Record<string, unknown>)[key]);
  }
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    stack: err.stack,
    code: typeof code === 'string' ? code : code === undefined ? undefined : String(code),
    fields,
  };
}

/** Rebuild an Error on the receiving side, with the original name, message, stack, code and fields. */
export function fromWireError(wire: WireError, fallbackCode: string, extra: Record<string, unknown> = {}): Error {
  const err = new Error(wire.message);
  Object.defineProperty(err, 'name', { value: wire.name, enumerable: false, configurable: true, writable: true });
  if (wire.stack !== undefined) err.stack = wire.stack;
  Object.assign(err, wire.fields, extra);
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
