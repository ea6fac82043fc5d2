/** The files a plugin folder holds (its own: not node_modules, not dot folders). */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export function pluginFiles(dir: string, limit = 2000): string[] {
  const files: string[] = [];
  const walk = (folder: string): void => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (files.length >= limit) return;
      if (entry.name === 'node_modules' || (entry.isDirectory() && entry.name.startsWith('.'))) continue;
      const abs = join(folder, entry.name);
      if (entry.isDirectory()) walk(abs);
      else files.push(abs);
    }
  };
  walk(dir);
  return files;
}
