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

export function toJson(payload: unknown): string {
  return JSON.stringify(payload, jsonReplacer);
}
