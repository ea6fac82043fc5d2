/**
 * `plugvisor plugins debug-watcher [--test-events]`: what does the host's watcher watch, and does
 * it see a change? The test touches a file (mtime only, content unchanged) and reports every raw
 * event the watcher received, which plugins it maps the file to, and what followed. A touch must
 * be seen, yet must not reload anything: the content hash drops saves that change nothing.
 */
import { existsSync, utimesSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import picomatch from 'picomatch';
import { PlugvisorError } from '../errors.js';
import type { Supervisor } from '../supervisor.js';
import { pluginFiles } from './plugin-files.js';

export interface WatcherEvent {
  event: string;
  file: string;
  plugins: string[];
  afterMs: number;
}

export interface WatcherTest {
  file: string;
  /** Plugins the watcher maps the file to. */
  plugins: string[];
  /** The file matches watch.patterns / watch.ignore (files a plugin is made of are watched whatever the patterns say). */
  matchesPatterns: boolean;
  ignored: boolean;
  events: WatcherEvent[];
  /** 'change' events of the supervisor during the test: what the watcher did about it. */
  changes: Array<{ plugin: string; files: string[]; action: string }>;
  /** The file is the host's hot-loading.yaml. */
  isConfigFile: boolean;
  seen: boolean;
  verdict: string;
}

export interface WatcherReport {
  watching: boolean;
  root: string;
  patterns: string[];
  ignore: string[];
  cooldownMs: number;
  automaticReload: boolean;
  /** Per loaded plugin: the files under its folder the watcher maps to it (relative to root). */
  plugins: Array<{ name: string; files: string[] }>;
  test?: WatcherTest;
}

export interface WatcherTestOptions {
  testEvents: boolean;
  /** The file to touch (absolute, or relative to root); default: the entry of `plugin` or of the first plugin. */
  file?: string;
  plugin?: string;
  timeoutMs?: number;
}

export async function testWatcher(sup: Supervisor, options: WatcherTestOptions): Promise<WatcherReport> {
  const { config } = sup;
  const watcher = sup.watcher;
  const report: WatcherReport = {
    watching: watcher !== undefined,
    root: config.root,
    patterns: [...config.watch.patterns],
    ignore: [...config.watch.ignore],
    cooldownMs: config.safety.cooldownSeconds * 1000,
    automaticReload: config.reload.automatic,
    plugins: watcher === undefined ? [] : sup.list().map((p) => ({
      name: p.name,
      files: pluginFiles(p.path).filter((f) => watcher.pluginsOf(f).includes(p.name)).map((f) => relative(config.root, f)),
    })),
  };
  if (!options.testEvents) return report;
  if (watcher === undefined) {
    throw new PlugvisorError('PLUGVISOR_WATCH_DISABLED',
      'this host does not watch files (watch.enabled is false): nothing to test; start it with watch.enabled: true or "plugvisor dev server --hot-reload", or use "plugvisor plugins dev NAME --watch"');
  }
  const file = targetFile(sup, options);
  const timeoutMs = options.timeoutMs ?? 3000;
  const events: WatcherEvent[] = [];
  const changes: WatcherTest['changes'] = [];
  const onChange = (e: { plugin: string; files: string[]; action: string }): void => void changes.push({ plugin: e.plugin, files: e.files, action: e.action });
  let t0 = 0;
  let seenFile: () => void = () => undefined;
  const seen = new Promise<void>((r) => (seenFile = r));
  sup.observeWatcher((event, path, plugins) => {
    events.push({ event, file: path, plugins, afterMs: Math.round((performance.now() - t0) * 10) / 10 });
    if (path === file) seenFile();
  });
  sup.on('change', onChange);
  try {
    t0 = performance.now();
    const now = new Date();
    utimesSync(file, now, now);
    const arrived = await Promise.race([seen.then(() => true), delay(timeoutMs).then(() => false)]);
    // A change would be handled after the cooldown: wait past it to see whether anything followed.
    if (arrived) await delay(report.cooldownMs + 300);
  } finally {
    sup.observeWatcher(undefined);
    sup.off('change', onChange);
  }
  const rel = relative(config.root, file);
  const inside = !rel.startsWith('..') && !isAbsolute(rel);
  const plugins = watcher.pluginsOf(file);
  const matchesPatterns = inside && picomatch([...config.watch.patterns], { dot: true })(rel);
  const ignored = inside && picomatch([...config.watch.ignore], { dot: true })(rel);
  const sawFile = events.some((e) => e.file === file);
  const test: WatcherTest = { file, plugins, matchesPatterns, ignored, events, changes, isConfigFile: file === config.file, seen: sawFile, verdict: '' };
  test.verdict = verdict(test, timeoutMs);
  report.test = test;
  return report;
}

function verdict(t: WatcherTest, timeoutMs: number): string {
  if (!t.seen) {
    const why = t.plugins.length === 0 && !t.matchesPatterns ? 'the file belongs to no plugin and matches no watch pattern, so it is not watched'
      : t.ignored && t.plugins.length === 0 ? 'the file matches watch.ignore'
        : 'the file system did not report it (a network or container mount without inotify? too few inotify watches: see /proc/sys/fs/inotify/max_user_watches)';
    return `the watcher saw nothing within ${timeoutMs} ms: ${why}`;
  }
  const first = t.events.find((e) => e.file === t.file)!;
  const owners = t.plugins.length > 0 ? `mapped to ${t.plugins.join(', ')}`
    : t.isConfigFile ? 'the host\'s config file (a change would be applied live)' : 'mapped to no plugin (so no reload would follow)';
  const followed = t.changes.length === 0 ? 'the content did not change, so nothing was reloaded (as it should be for a touch)'
    : `then: ${t.changes.map((c) => `${c.plugin} ${c.action}`).join(', ')}`;
  return `the watcher saw "${first.event}" ${first.afterMs} ms after the touch, ${owners}; ${followed}`;
}

function targetFile(sup: Supervisor, options: WatcherTestOptions): string {
  if (options.file !== undefined) {
    const file = resolve(sup.root, options.file);
    if (!existsSync(file)) throw new PlugvisorError('PLUGVISOR_BAD_ARGUMENTS', `${file} does not exist: nothing to touch`, { file });
    // The touch changes the file's modified time: only files this host could watch.
    const folders = [sup.root, ...sup.list().map((p) => p.path)];
    if (file !== sup.config.file && !folders.some((dir) => within(dir, file))) {
      throw new PlugvisorError('PLUGVISOR_BAD_ARGUMENTS', `${file} is outside the project (${sup.root}) and every loaded plugin's folder: not touched`, { file });
    }
    return file;
  }
  const plugin = options.plugin ?? sup.list()[0]?.name;
  if (plugin !== undefined) return sup.info(plugin).entry;
  if (sup.config.file !== undefined && existsSync(sup.config.file)) return sup.config.file;
  throw new PlugvisorError('PLUGVISOR_BAD_ARGUMENTS', 'no plugin is loaded and no config file exists: pass --file to choose a file to touch');
}

function within(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
