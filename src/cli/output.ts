/**
 * How commands print: human text (tables for lists) on stdout, or JSON with --json; failures as one
 * line on stderr, `plugvisor: CODE: reason`, exit status 1 (2 for bad arguments).
 */
import { PlugvisorError } from '../errors.js';
import { toJsonText } from '../json-value.js';

/** How every command reports failure: one line on stderr naming the code, exit status 1 (2 for bad arguments). */
export function exitWithError(err: unknown): never {
  const e = err as { code?: unknown; message?: string };
  const code = typeof e?.code === 'string' && e.code !== '' ? `${e.code}: ` : '';
  // One line, but the whole message: a plugin's error of several lines keeps its details.
  const message = (e?.message ?? String(err)).split('\n').map((line) => line.trim()).filter((line) => line !== '').join(' ');
  process.stderr.write(`plugvisor: ${code}${message}\n`);
  process.exit(e?.code === 'PLUGVISOR_BAD_ARGUMENTS' ? 2 : 1);
}

export function badArguments(message: string): PlugvisorError {
  return new PlugvisorError('PLUGVISOR_BAD_ARGUMENTS', message);
}

/**
 * --json output: always a JSON document, in the encoding the HTTP API writes too (a command that
 * returned nothing prints null; NaN, a Map or a BigInt as docs/http-api.md says).
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${toJsonText(value, 2)}\n`);
}

/** One JSON document per line (streams). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${toJsonText(value)}\n`);
}

export function print(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** A plain-text table: columns padded to their widest cell, the header in capitals. */
export function table(headers: string[], rows: Array<Array<string | number | undefined>>): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map((c) => (c === undefined ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** Aligned `key  value` lines. */
export function keyValues(pairs: Array<[string, string | number | undefined]>, indent = ''): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.filter(([, v]) => v !== undefined).map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`).join('\n');
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  return value >= 100 ? `${Math.round(value)} ms` : `${Math.round(value * 100) / 100} ms`;
}

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} kB`;
  if (value < 1024 ** 3) return `${(value / 1024 / 1024).toFixed(1)} MB`;
  return `${(value / 1024 ** 3).toFixed(2)} GB`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
