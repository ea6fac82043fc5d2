/**
 * Watches the project (chokidar) and turns file changes into batches of affected plugins.
 *
 *   chokidar event ─▶ matches watch.patterns, or is a file some plugin is made of?
 *                  ─▶ content changed (hash)? ─▶ which plugins: their module graph (esbuild's
 *                     metafile), manifest, config file and schema
 *                  ─▶ pending set; cooldown_period after the last event, one batch
 *
 * Editors' atomic saves (write temp, rename) arrive as unlink+add or several changes: the cooldown
 * coalesces them, and the hash drops the ones that end where they started.
 */
import type { Stats } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import picomatch from 'picomatch';
import type { Logger } from 'pino';
import { ContentHashes } from './content-hashes.js';
import { installMarkers } from './install-markers.js';

/** The files one plugin is made of. */
export interface WatchTarget {
  name: string;
  dir: string;
  files: readonly string[];
  /**
   * The package.json of each npm package the plugin loads from node_modules: an install that
   * changes one (seen through the package manager's marker file, see install-markers.ts) reloads
   * the plugin.
   */
  packages?: readonly string[];
}

export interface WatchBatch {
  plugins: string[];
  files: string[];
  /** hot-loading.yaml itself changed. */
  config: boolean;
}

export interface PluginWatcherOptions {
  root: string;
  patterns: readonly string[];
  ignore: readonly string[];
  cooldownMs: number;
  /** The supervisor's config file, watched and reported apart. */
  configFile?: string;
  log: Logger;
  targets(): Iterable<WatchTarget>;
  onBatch(batch: WatchBatch): Promise<void>;
  /** Every file event the watcher saw, before filtering (for debug-watcher). */
  onRawEvent?(event: string, file: string): void;
}

export class PluginWatcher {
  readonly #options: PluginWatcherOptions;
  readonly #hashes = new ContentHashes();
  readonly #isIncluded: (path: string) => boolean;
  readonly #isIgnored: (path: string) => boolean;
  /** The root's watcher, once its initial scan is done. */
  #watcher: FSWatcher | undefined;
  /** The root's watcher from the moment start() creates it: close() ends it even mid-scan. */
  #root: Promise<FSWatcher> | undefined;
  /** Folders of plugin files watched on their own (see #foldersOfOwn). */
  #ownFolders = new Set<string>();
  /** One watcher per such folder (ready once it resolves). */
  readonly #own = new Map<string, Promise<FSWatcher>>();
  #byFile = new Map<string, Set<string>>();
  /** An install's marker file → the plugins whose packages it covers. */
  #markers = new Map<string, Set<string>>();
  #packagesOf = new Map<string, readonly string[]>();
  #pending = new Map<string, Set<string>>();
  #pendingConfig = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: PluginWatcherOptions) {
    this.#options = options;
    this.#isIncluded = picomatch([...options.patterns], { dot: true });
    this.#isIgnored = picomatch([...options.ignore], { dot: true });
  }

  /** Start watching; resolves once the initial scan is done and changes are being reported. */
  async start(): Promise<void> {
    await this.#readTargets();
    // Closed meanwhile (a stop while the supervisor starts): start no watcher close() cannot end.
    if (this.#closed) return;
    this.#root = this.#watch(this.#options.root);
    this.#watcher = await this.#root;
    await this.#watchOwnFolders();
  }

  /**
   * Re-read which files belong to which plugin (after a load, reload or unload); resolves once a
   * plugin file the root's watcher may not see (see #foldersOfOwn) is watched too.
   */
  async refresh(): Promise<void> {
    await this.#readTargets();
    await this.#watchOwnFolders();
  }

  /** Which plugins a file belongs to. */
  pluginsOf(file: string): string[] {
    return [...(this.#byFile.get(resolve(file)) ?? [])];
  }

  /** Wait until every batch reported so far has been handled. */
  idle(): Promise<void> {
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const own = [...this.#own.values()];
    this.#own.clear();
    await Promise.all([this.#root, ...own].map(async (watcher) => (await watcher)?.close()));
    await this.#running;
  }

  async #readTargets(): Promise<void> {
    const byFile = new Map<string, Set<string>>();
    const markers = new Map<string, Set<string>>();
    const packagesOf = new Map<string, readonly string[]>();
    for (const target of this.#options.targets()) {
      for (const file of target.files) {
        addTo(byFile, file, target.name);
        await this.#hashes.remember(file);
      }
      const packages = target.packages ?? [];
      if (packages.length === 0) continue;
      packagesOf.set(target.name, packages);
      for (const manifest of packages) await this.#hashes.remember(manifest);
      for (const marker of installMarkers(packages).keys()) addTo(markers, marker, target.name);
    }
    if (this.#options.configFile !== undefined) await this.#hashes.remember(this.#options.configFile);
    this.#byFile = byFile;
    this.#markers = markers;
    this.#packagesOf = packagesOf;
    this.#ownFolders = await this.#foldersOfOwn(byFile.keys());
    // node_modules is ignored by the root's watcher: its markers are watched from their folder.
    for (const marker of markers.keys()) this.#ownFolders.add(dirname(marker));
  }

  /**
   * The folders whose plugin files the root's watcher may not see, each to be watched on its own:
   * outside the root (a module shared between projects), inside it through a symbolic link
   * (the root's watcher walks a link only if plugin files lay under it when it scanned it: a
   * plugin folder linked in and loaded later would go unwatched), or in a folder it ignores (a
   * base tsconfig.json extended from node_modules).
   */
  async #foldersOfOwn(files: Iterable<string>): Promise<Set<string>> {
    const folders = new Set<string>();
    const checked = new Set<string>();
    for (const file of files) {
      const dir = dirname(file);
      if (checked.has(dir)) continue;
      checked.add(dir);
      if (!isInside(this.#options.root, file) || this.#isIgnored(relative(this.#options.root, file)) || (await realpath(dir).catch(() => dir)) !== dir) folders.add(dir);
    }
    return folders;
  }

  /** A watcher of its own (its files only, not below) for each folder #foldersOfOwn names; the others are let go. */
  async #watchOwnFolders(): Promise<void> {
    // Not started yet, or closed (a batch still running while close() waits for it).
    if (this.#watcher === undefined || this.#closed) return;
    const wanted = this.#ownFolders;
    const gone = [...this.#own].filter(([dir]) => !wanted.has(dir));
    for (const [dir] of gone) this.#own.delete(dir);
    // Set before the first await: a refresh running beside this one starts no second watcher.
    for (const dir of wanted) if (!this.#own.has(dir)) this.#own.set(dir, this.#watch(dir, 0));
    await Promise.all([...gone.map(async ([, watcher]) => (await watcher).close()), ...[...wanted].map((dir) => this.#own.get(dir))]);
  }

  /** A chokidar watcher on `path` reporting to #onEvent; resolves once its initial scan is done. */
  async #watch(path: string, depth?: number): Promise<FSWatcher> {
    const watcher = watch(path, {
      ignoreInitial: true,
      // Never its own folder (a node_modules folder watched for its install marker).
      ignored: (p, stats) => resolve(p) !== path && this.#ignored(p, stats === undefined ? undefined : this.#isFolder(p, stats)),
      awaitWriteFinish: false,
      ...(depth === undefined ? {} : { depth }),
    });
    for (const event of ['add', 'change', 'unlink'] as const) {
      watcher.on(event, (file: string) => this.#onEvent(event, file));
    }
    watcher.on('error', (err) => this.#options.log.error({ err, path }, 'file watcher error'));
    await new Promise<void>((ready) => watcher.once('ready', () => ready()));
    return watcher;
  }

  /**
   * A symbolic link is walked when plugin files lie under it (a plugin folder linked into the
   * project), and otherwise taken for a file: a link to a large tree is not watched whole.
   */
  #isFolder(path: string, stats: Stats): boolean {
    if (!stats.isSymbolicLink()) return stats.isDirectory();
    const prefix = resolve(path) + sep;
    for (const file of this.#byFile.keys()) if (file.startsWith(prefix)) return true;
    return false;
  }

  #ignored(path: string, isDirectory: boolean | undefined): boolean {
    const abs = resolve(path);
    if (this.#byFile.has(abs) || this.#markers.has(abs) || abs === this.#options.configFile) return false;
    const rel = relative(this.#options.root, abs);
    if (rel === '') return false;
    // A folder is ignored when what is inside it would be (`**/node_modules/**` skips node_modules itself).
    if (isInside(this.#options.root, abs) && (this.#isIgnored(rel) || (isDirectory !== false && this.#isIgnored(`${rel}/_`)))) return true;
    // Folders are walked (a pattern may match below them); files outside the patterns are not watched.
    if (isDirectory !== false) return false;
    return !isInside(this.#options.root, abs) || !this.#isIncluded(rel);
  }

  async #onEvent(event: string, path: string): Promise<void> {
    const file = resolve(path);
    this.#options.onRawEvent?.(event, file);
    if (this.#markers.has(file)) {
      await this.#onInstall(file);
      return;
    }
    const isConfig = file === this.#options.configFile;
    const owners = this.#byFile.get(file) ?? (event === 'add' ? this.#shadowed(file) : undefined);
    if (!isConfig && owners === undefined) return;
    if (!(await this.#hashes.changed(file))) {
      this.#options.log.debug({ file }, 'saved without a change; ignored');
      return;
    }
    if (isConfig) this.#pendingConfig = true;
    for (const plugin of owners ?? []) addTo(this.#pending, plugin, file);
    this.#schedule();
  }

  /**
   * The plugins an added file may take an import from: one whose source beside it has the same name
   * but another extension (util.ts added beside util.js takes `./util`), or lies in the folder of
   * that name (util.ts takes `./util` from util/index.ts).
   */
  #shadowed(file: string): Set<string> | undefined {
    const stem = (f: string): string => f.replace(/\.[^./\\]+$/, '');
    const own = stem(file);
    const owners = new Set<string>();
    for (const [source, plugins] of this.#byFile) {
      if (stem(source) === own || source.startsWith(own + sep)) for (const plugin of plugins) owners.add(plugin);
    }
    return owners.size > 0 ? owners : undefined;
  }

  /** An install ran: the plugins one of whose packages changed are reloaded. */
  async #onInstall(marker: string): Promise<void> {
    const plugins = [...(this.#markers.get(marker) ?? [])];
    // Each manifest compared once: the comparison records what it saw.
    const changed = new Set<string>();
    for (const manifest of new Set(plugins.flatMap((p) => this.#packagesOf.get(p) ?? []))) {
      if (await this.#hashes.changed(manifest)) changed.add(manifest);
    }
    for (const plugin of plugins) {
      for (const manifest of this.#packagesOf.get(plugin) ?? []) if (changed.has(manifest)) addTo(this.#pending, plugin, manifest);
    }
    if (changed.size > 0) this.#schedule();
    else this.#options.log.debug({ marker }, 'install left the plugins\' packages as they were; ignored');
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const batch: WatchBatch = {
        plugins: [...this.#pending.keys()],
        files: [...new Set([...this.#pending.values()].flatMap((s) => [...s]))],
        config: this.#pendingConfig,
      };
      this.#pending = new Map();
      this.#pendingConfig = false;
      // An event may have read the file half-written (an in-place save truncates, then writes, and
      // the watcher may report only the truncation): the batch acts on the content as it is now,
      // so that is what the next event is compared with, or a next save caught at its truncation
      // would look unchanged and be dropped.
      const settled = [...batch.files, ...(batch.config && this.#options.configFile !== undefined ? [this.#options.configFile] : [])];
      // Batches run one after another: a change during a reload waits for it.
      this.#running = this.#running.then(async () => {
        await Promise.all(settled.map((file) => this.#hashes.update(file)));
        await this.#options.onBatch(batch);
      }).catch((err: Error) =>
        this.#options.log.error({ err }, 'handling a file change failed'));
    }, this.#options.cooldownMs);
  }
}

/** Add `value` to the set `map` holds at `key`, creating the set. */
function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(value);
}

function isInside(root: string, file: string): boolean {
  const rel = relative(root, file);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
