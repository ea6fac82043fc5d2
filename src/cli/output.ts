/** How every command reports failure: one line on stderr naming the code, exit status 1. */
export function exitWithError(err: unknown): never {
  const e = err as { code?: string; message?: string };
  const code = typeof e?.code === 'string' && e.code.startsWith('PLUGVISOR_') ? `${e.code}: ` : '';
  process.stderr.write(`plugvisor: ${code}${(e?.message ?? String(err)).split('\n')[0]}\n`);
  process.exit(1);
}
