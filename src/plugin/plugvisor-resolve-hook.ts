/**
 * A module resolve hook for `plugvisor dev plugin test`: a plugin's tests import 'plugvisor'; when
 * the project has no plugvisor installed where the tests can find it, the plugvisor running the
 * tests answers. An installed one always wins.
 */
const SELF = new URL('../index.js', import.meta.url).href;

interface ResolveResult {
  url: string;
  shortCircuit?: boolean;
  format?: string | null;
}

export async function resolve(specifier: string, context: unknown, nextResolve: (specifier: string, context: unknown) => Promise<ResolveResult>): Promise<ResolveResult> {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    if (specifier === 'plugvisor' && (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return { url: SELF, shortCircuit: true };
    throw err;
  }
}
