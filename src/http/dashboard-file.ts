/**
 * Where the dashboard page lives: public/ at the package root, which ships (package.json "files").
 * This module runs from src/http (tsx) or dist/src/http (built), so both depths are tried.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function dashboardFile(): string {
  const candidates = [new URL('../../public/dashboard.html', import.meta.url), new URL('../../../public/dashboard.html', import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((f) => existsSync(f));
  if (found === undefined) throw new Error(`plugvisor: dashboard page not found; looked in ${candidates.join(', ')}`);
  return found;
}
