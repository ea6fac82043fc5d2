/**
 * The files a plugin is made of, as every watcher follows them (the host's, `plugins dev`'s own,
 * `dev plugin validate --watch`, `dev plugin test --hot-reload`): its sources wherever they are,
 * the package.json and tsconfig.json they compile with (and the configs that one extends), its
 * package.json, config file and config schema.
 */
import { compilePlugin, type CompiledPlugin } from './compile-plugin.js';
import { readManifest, type PluginManifest } from './manifest.js';

export function filesOfPlugin(manifest: PluginManifest, compiled: CompiledPlugin): string[] {
  const files = [...compiled.sources, ...compiled.settings, manifest.manifestFile, manifest.configFile, manifest.configSchemaFile];
  return [...new Set(files.filter((f): f is string => f !== undefined))];
}

/** The same for the plugin in `dir`, compiled as a reload would; [] when it does not compile. */
export async function compiledFilesOf(dir: string, cacheDir: string): Promise<string[]> {
  try {
    const manifest = readManifest(dir, { checkEngines: false });
    return filesOfPlugin(manifest, await compilePlugin(manifest.name, manifest.entryFile, cacheDir));
  } catch {
    return [];
  }
}
