/**
 * Command results cross a worker boundary by structured clone, so they may hold values JSON cannot
 * say. The dev server writes them the way a reader expects rather than failing or losing them.
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return [...value.keys()].every((k) => typeof k === 'string') ? Object.fromEntries(value) : [...value.entries()];
  if (value instanceof Set) return [...value];
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (value instanceof Error) return { name: value.name, message: value.message, ...(value as unknown as Record<string, unknown>) };
  return value;
}

/**
 * JSON text of an answer. Structured clone keeps cycles (a tree whose nodes point at their parent),
 * JSON cannot: a reference back to an object being written is written "[Circular]", as the control
 * channel writes it for the CLI, rather than failing a call that succeeded.
 */
export function toJson(payload: unknown): string {
  // The objects being written, outermost first, each as it was and as jsonReplacer wrote it.
  const path: Array<{ value: object; written: unknown }> = [];
  return JSON.stringify(payload, function (this: unknown, key: string, value: unknown) {
    while (path.length > 0 && path[path.length - 1]!.written !== this) path.pop();
    if (typeof value !== 'object' || value === null) return jsonReplacer(key, value);
    if (path.some((p) => p.value === value || p.written === value)) return '[Circular]';
    const written = jsonReplacer(key, value);
    path.push({ value, written });
    return written;
  });
}
