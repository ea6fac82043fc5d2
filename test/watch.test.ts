import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Supervisor } from 'plugvisor';
import pino from 'pino';
import { settlesWithin } from '../src/settles-within.js';
import { PluginWatches } from '../src/control/plugin-watches.js';
import { PluginWatcher } from '../src/watch/plugin-watcher.js';
import { nextEvent, tempDir, writePlugin, type PluginFiles } from './helpers.js';
import { writeVersioned } from './reload-helpers.js';

const FAST = { cooldown_period: 0.05 };

async function watching(t: TestContext, root: string, extra: Record<string, unknown> = {}): Promise<Supervisor> {
  const sup = new Supervisor({ root, config: { log_level: 'silent', watch: { enabled: true }, safety: FAST, ...extra } });
  t.after(() => sup.stop());
  await sup.start();
  return sup;
}

/** Write `files` into plugin p's folder `dir`, wait for the reload that starts, and check what its `v` answers then. */
async function savedReloads(sup: Supervisor, dir: string, files: PluginFiles, v: unknown): Promise<void> {
  const reloaded = nextEvent(sup, 'reload', 'p');
  writePlugin(dir, files);
  await reloaded;
  assert.equal(await sup.call('p', 'v'), v);
}

test('saving a plugin file reloads it: the new version serves with the old state', async (t) => {
  const root = tempDir(t);
  const dir = writeVersioned(join(root, 'plugins', 'v'), { version: '1.0.0' });
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/v' }] });
  await sup.call('versioned', 'inc');
  const reloaded = nextEvent(sup, 'reload', 'versioned');
  writeVersioned(dir, { version: '1.1.0' });
  assert.equal((await reloaded).toVersion, '1.1.0');
  assert.deepEqual(await sup.call('versioned', 'get'), { version: '1.1.0', count: 1 });
});

test('a save that does not change the content is not a change; a burst of saves is one reload', async (t) => {
  const root = tempDir(t);
  const dir = writeVersioned(join(root, 'plugins', 'v'), { version: '1.0.0' });
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/v' }] });
  const changes: string[][] = [];
  sup.on('change', (e) => changes.push(e.files));
  const entry = join(dir, 'index.ts');
  writeFileSync(entry, readFileSync(entry));
  utimesSync(entry, new Date(), new Date());
  const reloaded = nextEvent(sup, 'reload', 'versioned');
  for (let i = 1; i <= 5; i++) writeVersioned(dir, { version: `1.0.${i}` });
  assert.equal((await reloaded).toVersion, '1.0.5');
  assert.equal(sup.info('versioned').reloadCount, 1);
  assert.equal(changes.length, 1);
});

test('saves written in place (truncated, then written) each reload, even when the watcher reports only the truncation', { timeout: 30_000 }, async (t) => {
  const root = tempDir(t);
  const dir = writePlugin(join(root, 'plugins', 'p'), {
    'package.json': { name: 'p', version: '1.0.0', type: 'module', main: 'index.js' },
    'index.js': 'export default { commands: { v: () => 0 } };\n',
  });
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/p' }] });
  const entry = join(dir, 'index.js');
  for (let v = 1; v <= 3; v++) {
    const reloaded = nextEvent(sup, 'reload', 'p');
    // The event is read while the file is still empty; the content lands after it.
    truncateSync(entry);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fd = openSync(entry, 'r+');
    writeSync(fd, `export default { commands: { v: () => ${v} } };\n`);
    closeSync(fd);
    await reloaded;
    assert.equal(await sup.call('p', 'v'), v);
  }
});

test('a helper imported by two plugins reloads both, in one transaction', async (t) => {
  const root = tempDir(t);
  const shared = join(root, 'shared', 'greeting.ts');
  mkdirSync(join(root, 'shared'));
  writeFileSync(shared, `export const greeting = 'hello';\n`);
  for (const name of ['a', 'b']) {
    writePlugin(join(root, 'plugins', name), {
      'package.json': { name, version: '1.0.0', type: 'module', main: 'index.ts' },
      'index.ts': `import { greeting } from '../../shared/greeting.js';\nexport default { commands: { hi: () => greeting } };\n`,
    });
  }
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/a' }, { path: 'plugins/b' }] });
  assert.deepEqual(sup.watcher?.pluginsOf(shared).sort(), ['a', 'b']);
  const a = nextEvent(sup, 'reload', 'a');
  const b = nextEvent(sup, 'reload', 'b');
  writeFileSync(shared, `export const greeting = 'bonjour';\n`);
  await Promise.all([a, b]);
  assert.equal(await sup.call('a', 'hi'), 'bonjour');
  assert.equal(await sup.call('b', 'hi'), 'bonjour');
});

test('editing the tsconfig.json a plugin compiles with (paths) reloads it with what it now maps to', { timeout: 30_000 }, async (t) => {
  const root = tempDir(t);
  const dir = writePlugin(join(root, 'plugins', 'p'), {
    'package.json': { name: 'p', version: '1.0.0', type: 'module', main: 'index.ts' },
    'tsconfig.json': { compilerOptions: { paths: { '@t/*': ['./t1/*'] } } },
    'index.ts': "import { T } from '@t/x';\nexport default { commands: { v: () => T } };\n",
    't1/x.ts': "export const T = 1;\n",
    't2/x.ts': "export const T = 2;\n",
  });
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/p' }] });
  assert.equal(await sup.call('p', 'v'), 1);
  await savedReloads(sup, dir, { 'tsconfig.json': { compilerOptions: { paths: { '@t/*': ['./t2/*'] } } } }, 2);
});

test('editing a config the tsconfig.json extends (relative, or a package\'s in node_modules) reloads the plugin', { timeout: 30_000 }, async (t) => {
  const root = tempDir(t);
  const dir = writePlugin(join(root, 'plugins', 'p'), {
    'package.json': { name: 'p', version: '1.0.0', type: 'module', main: 'index.ts' },
    'tsconfig.json': { extends: ['./base'] },
    'base.json': { extends: '@cfg/base/tsconfig.json' },
    'node_modules/@cfg/base/package.json': { name: '@cfg/base', version: '1.0.0' },
    'node_modules/@cfg/base/tsconfig.json': { compilerOptions: { paths: { '@t/*': ['../../../t1/*'] } } },
    'index.ts': "import { T } from '@t/x';\nexport default { commands: { v: () => T } };\n",
    't1/x.ts': "export const T = 1;\n",
    't2/x.ts': "export const T = 2;\n",
    't3/x.ts': "export const T = 3;\n",
  });
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/p' }] });
  assert.equal(await sup.call('p', 'v'), 1);
  await savedReloads(sup, dir, { 'node_modules/@cfg/base/tsconfig.json': { compilerOptions: { paths: { '@t/*': ['../../../t2/*'] } } } }, 2);
  await savedReloads(sup, dir, { 'base.json': { compilerOptions: { paths: { '@t/*': ['./t3/*'] } } } }, 3);
});

test('a tsconfig.json written nearer a plugin\'s sources than the one they compiled with reloads the plugin', { timeout: 30_000 }, async (t) => {
  const root = tempDir(t);
  writePlugin(root, { 'tsconfig.json': { compilerOptions: { paths: { '@t/*': ['./plugins/p/t1/*'] } } } });
  const dir = writePlugin(join(root, 'plugins', 'p'), {
    'package.json': { name: 'p', version: '1.0.0', type: 'module', main: 'src/index.ts' },
    'src/index.ts': "import { T } from '@t/x';\nexport default { commands: { v: () => T } };\n",
    't1/x.ts': "export const T = 1;\n",
    't2/x.ts': "export const T = 2;\n",
  });
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/p' }] });
  assert.equal(await sup.call('p', 'v'), 1);
  await savedReloads(sup, dir, { 'tsconfig.json': { compilerOptions: { paths: { '@t/*': ['./t2/*'] } } } }, 2);
});

test('a plugin watched on its own (plugins dev, load --watch; the host not watching) reloads when a file it imports from outside its folder is saved', { timeout: 30_000 }, async (t) => {
  const root = tempDir(t);
  const shared = writePlugin(join(root, 'shared'), { 'greeting.ts': 'export const G = 1;\n' });
  writePlugin(join(root, 'plugins', 'p'), {
    'package.json': { name: 'p', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': "import { G } from '../../shared/greeting.ts';\nexport default { commands: { v: () => G } };\n",
  });
  const sup = new Supervisor({ root, config: { log_level: 'silent', safety: FAST, plugins: [{ path: 'plugins/p' }] } });
  t.after(() => sup.stop());
  await sup.start();
  const watches = new PluginWatches(sup, sup.log);
  t.after(() => watches.close());
  const held = new AbortController();
  t.after(() => held.abort());
  assert.equal((await watches.hold('p', true, () => undefined, held.signal)).type, 'watching');
  await savedReloads(sup, shared, { 'greeting.ts': 'export const G = 2;\n' }, 2);
});

test('a file added beside an import that now takes it (util.ts beside util.js) reloads the plugin', { timeout: 30_000 }, async (t) => {
  const root = tempDir(t);
  const dir = writePlugin(join(root, 'plugins', 'p'), {
    'package.json': { name: 'p', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': "import { S } from './util';\nexport default { commands: { v: () => S } };\n",
    'util.js': "export const S = 'js';\n",
  });
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/p' }] });
  assert.equal(await sup.call('p', 'v'), 'js');
  const reloaded = nextEvent(sup, 'reload', 'p');
  writePlugin(dir, { 'util.ts': "export const S = 'ts';\n" });
  await reloaded;
  assert.equal(await sup.call('p', 'v'), 'ts');
});

test('a module outside the root is watched as soon as the plugin that imports it has loaded', async (t) => {
  const base = tempDir(t);
  const root = join(base, 'project');
  const lib = join(base, 'lib', 'greeting.ts');
  mkdirSync(join(base, 'lib'));
  writeFileSync(lib, `export const greeting = 'hello';\n`);
  const dir = writePlugin(join(root, 'plugins', 'a'), {
    'package.json': { name: 'a', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': `import { greeting } from '../../../lib/greeting.js';\nexport default { commands: { hi: () => greeting } };\n`,
  });
  const sup = await watching(t, root);
  await sup.load(dir);
  assert.deepEqual(sup.watcher?.pluginsOf(lib), ['a']);
  // No wait: load() resolves once the folder outside the root is watched.
  const reloaded = nextEvent(sup, 'reload', 'a');
  writeFileSync(lib, `export const greeting = 'bonjour';\n`);
  await reloaded;
  assert.equal(await sup.call('a', 'hi'), 'bonjour');
});

test('an install that updates a package a plugin imports reloads the plugin; one that leaves its packages alone does not', async (t) => {
  const root = tempDir(t);
  const modules = join(root, 'node_modules');
  const writeDep = (dir: string, version: string): void => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'dep', version, type: 'module', main: 'index.js' }));
    writeFileSync(join(dir, 'index.js'), `export const version = ${JSON.stringify(version)};\n`);
  };
  const lockfile = join(modules, '.package-lock.json');
  const writeLockfile = (version: string, other: string): void =>
    writeFileSync(lockfile, JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/dep': { version }, 'node_modules/other': { version: other } } }));
  writeDep(join(modules, 'dep'), '1.0.0');
  writeLockfile('1.0.0', '1.0.0');
  const dir = writePlugin(join(root, 'plugins', 'uses'), {
    'package.json': { name: 'uses', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': `import { version } from 'dep';\nexport default { commands: { dep: () => version } };\n`,
  });
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/uses' }] });
  const changes: string[][] = [];
  sup.on('change', (e) => changes.push(e.files));
  assert.equal(await sup.call('uses', 'dep'), '1.0.0');

  // As npm updates a package: the new version unpacked beside it, moved into place, the lockfile last.
  let reloaded = nextEvent(sup, 'reload', 'uses');
  writeDep(join(modules, '.dep-new'), '1.1.0');
  renameSync(join(modules, 'dep'), join(modules, '.dep-old'));
  renameSync(join(modules, '.dep-new'), join(modules, 'dep'));
  rmSync(join(modules, '.dep-old'), { recursive: true });
  writeLockfile('1.1.0', '1.0.0');
  await reloaded;
  assert.equal(await sup.call('uses', 'dep'), '1.1.0');
  assert.deepEqual(changes, [[join(modules, 'dep', 'package.json')]]);

  // Another package installed: the plugin's packages are as they were, so only the next save reloads it.
  writeLockfile('1.1.0', '2.0.0');
  reloaded = nextEvent(sup, 'reload', 'uses');
  writeFileSync(join(dir, 'index.ts'), `import { version } from 'dep';\nexport default { commands: { dep: () => 'saved ' + version } };\n`);
  await reloaded;
  assert.equal(await sup.call('uses', 'dep'), 'saved 1.1.0');
  assert.deepEqual(changes.slice(1), [[join(dir, 'index.ts')]]);
});

test('a save with a syntax error is refused and the old version keeps serving; fixing it reloads', async (t) => {
  const root = tempDir(t);
  const dir = writeVersioned(join(root, 'plugins', 'v'), { version: '1.0.0' });
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/v' }], safety: { ...FAST, max_reload_attempts: 1 } });
  await sup.call('versioned', 'inc');
  const refused = nextEvent(sup, 'rollback', 'versioned');
  writeFileSync(join(dir, 'index.ts'), 'export default {{');
  assert.equal((await refused).step, 'compile');
  assert.deepEqual(await sup.call('versioned', 'get'), { version: '1.0.0', count: 1 });
  const reloaded = nextEvent(sup, 'reload', 'versioned');
  writeVersioned(dir, { version: '1.0.1' });
  await reloaded;
  assert.deepEqual(await sup.call('versioned', 'get'), { version: '1.0.1', count: 1 });
});

test('a dependency bump refused at validation goes in with the save that fixes its dependent', { timeout: 30_000 }, async (t) => {
  const root = tempDir(t);
  const a = writeVersioned(join(root, 'plugins', 'a'), { version: '1.0.0', name: 'a' });
  const b = writeVersioned(join(root, 'plugins', 'b'), { version: '1.0.0', name: 'b', dependsOn: { a: '^1.0.0' } });
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/a' }, { path: 'plugins/b' }] });
  await sup.call('a', 'inc');
  const refused = nextEvent(sup, 'rollback', 'a');
  writeVersioned(a, { version: '2.0.0', name: 'a' });
  assert.equal((await refused).step, 'validate');
  assert.equal(sup.info('a').version, '1.0.0');
  const outcome = Promise.race([
    nextEvent(sup, 'reload', 'b').then(() => 'reloaded'),
    nextEvent(sup, 'rollback', 'b').then((e) => `refused: ${e.error}`),
  ]);
  writeVersioned(b, { version: '1.0.1', name: 'b', dependsOn: { a: '^2.0.0' } });
  assert.equal(await outcome, 'reloaded');
  assert.deepEqual(await sup.call('a', 'get'), { version: '2.0.0', count: 1 });
  assert.equal(sup.info('b').version, '1.0.1');
});

test('reload.automatic: false reports the change and leaves the running version alone', async (t) => {
  const root = tempDir(t);
  const dir = writeVersioned(join(root, 'plugins', 'v'), { version: '1.0.0' });
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/v' }], reload: { automatic: false } });
  const change = nextEvent(sup, 'change', 'versioned');
  writeVersioned(dir, { version: '2.0.0' });
  assert.equal((await change).action, 'none');
  assert.equal(sup.info('versioned').version, '1.0.0');
  assert.equal(sup.info('versioned').reloadCount, 0);
});

function configPlugin(root: string, hook: boolean): string {
  mkdirSync(join(root, 'config'), { recursive: true });
  writeFileSync(join(root, 'config', 'c.yaml'), 'greeting: hello\n');
  writeFileSync(join(root, 'config', 'c.schema.json'), JSON.stringify({ type: 'object', required: ['greeting'], properties: { greeting: { type: 'string' } }, additionalProperties: false }));
  return writePlugin(join(root, 'plugins', 'c'), {
    'package.json': { name: 'c', version: '1.0.0', type: 'module', main: 'index.ts', plugvisor: { config: '../../config/c.yaml', configSchema: '../../config/c.schema.json' } },
    'index.ts': `export default {
      commands: { greet: (ctx) => ctx.config.greeting },
      ${hook ? 'configChanged(ctx, next) { if (next.greeting === "forbidden") throw new Error("not that one"); },' : ''}
    };\n`,
  });
}

test('a config file change reaches a plugin with configChanged() without a reload; an invalid one is refused', async (t) => {
  const root = tempDir(t);
  configPlugin(root, true);
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/c' }] });
  assert.equal(await sup.call('c', 'greet'), 'hello');
  let applied = nextEvent(sup, 'config', 'c');
  writeFileSync(join(root, 'config', 'c.yaml'), 'greeting: salut\n');
  assert.equal((await applied).ok, true);
  assert.equal(await sup.call('c', 'greet'), 'salut');
  assert.equal(sup.info('c').reloadCount, 0);

  const refused = nextEvent(sup, 'config', 'c');
  writeFileSync(join(root, 'config', 'c.yaml'), 'greeting: 42\nextra: true\n');
  const event = await refused;
  assert.equal(event.ok, false);
  assert.match(event.error!, /greeting|extra/);
  assert.equal(await sup.call('c', 'greet'), 'salut');

  applied = nextEvent(sup, 'config', 'c');
  writeFileSync(join(root, 'config', 'c.yaml'), 'greeting: forbidden\n');
  assert.equal((await applied).ok, false, 'a configChanged() that throws refuses the config');
  assert.equal(await sup.call('c', 'greet'), 'salut');
});

test('a config file change reloads a plugin without configChanged(); an invalid config fails the reload at the config step', async (t) => {
  const root = tempDir(t);
  configPlugin(root, false);
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/c' }], safety: { ...FAST, max_reload_attempts: 1 } });
  const reloaded = nextEvent(sup, 'reload', 'c');
  writeFileSync(join(root, 'config', 'c.yaml'), 'greeting: hola\n');
  await reloaded;
  assert.equal(await sup.call('c', 'greet'), 'hola');
  const refused = nextEvent(sup, 'rollback', 'c');
  writeFileSync(join(root, 'config', 'c.yaml'), 'greeting: [1]\n');
  assert.equal((await refused).step, 'config');
  assert.equal(await sup.call('c', 'greet'), 'hola');
});

/** hot-loading.yaml listing plugins/<name> for each name (watching, fast cooldown) */
function pluginsYaml(plugins: string[]): string {
  return `hot_loading:\n  log_level: silent\n  watch:\n    enabled: true\n  safety:\n    cooldown_period: 0.05\n  plugins:\n${plugins.map((p) => `    - path: plugins/${p}\n`).join('')}`;
}

/** A supervisor started from <root>/hot-loading.yaml listing plugins/one. */
async function startFromYaml(t: TestContext, root: string): Promise<{ sup: Supervisor; file: string; yaml: typeof pluginsYaml }> {
  const file = join(root, 'hot-loading.yaml');
  writeFileSync(file, pluginsYaml(['one']));
  const sup = new Supervisor({ root, config: 'hot-loading.yaml' });
  t.after(() => sup.stop());
  await sup.start();
  return { sup, file, yaml: pluginsYaml };
}

test('a change of hot-loading.yaml is validated and applied without a restart', async (t) => {
  const root = tempDir(t);
  writeVersioned(join(root, 'plugins', 'one'), { version: '1.0.0', name: 'one' });
  writeVersioned(join(root, 'plugins', 'two'), { version: '1.0.0', name: 'two' });
  const { sup, file, yaml } = await startFromYaml(t, root);
  const refused = nextEvent(sup, 'config', '*');
  writeFileSync(file, yaml(['one']).replace('log_level: silent', 'log_level: silent\n  colour: blue'));
  const bad = await refused;
  assert.equal(bad.ok, false);
  assert.match(bad.error!, /hot_loading\.colour is not a known key/);
  const loaded = nextEvent(sup, 'load', 'two');
  writeFileSync(file, yaml(['one', 'two']));
  await loaded;
  assert.deepEqual(await sup.call('two', 'get'), { version: '1.0.0', count: 0 });
});

/** A supervisor started on plugins/one, whose hot-loading.yaml then adds plugins/late, a folder not written yet. */
async function addLateToYaml(t: TestContext): Promise<{ sup: Supervisor; root: string }> {
  const root = tempDir(t);
  writeVersioned(join(root, 'plugins', 'one'), { version: '1.0.0', name: 'one' });
  const { sup, file, yaml } = await startFromYaml(t, root);
  const applied = nextEvent(sup, 'config', '*');
  writeFileSync(file, yaml(['one', 'late']));
  assert.equal((await applied).ok, true);
  return { sup, root };
}

test('a plugin added to hot-loading.yaml before its folder is written is loaded once it is', { timeout: 30_000 }, async (t) => {
  const { sup, root } = await addLateToYaml(t);
  assert.throws(() => sup.info('late'), /no plugin named "late"/);
  const loaded = nextEvent(sup, 'load', 'late');
  writeVersioned(join(root, 'plugins', 'late'), { version: '1.0.0', name: 'late' });
  await loaded;
  assert.deepEqual(await sup.call('late', 'get'), { version: '1.0.0', count: 0 });
});

test('a plugin kept aside after it was added to hot-loading.yaml is given up when the file no longer lists it', { timeout: 30_000 }, async (t) => {
  const { sup, root } = await addLateToYaml(t);
  assert.deepEqual(sup.brokenPlugins().map((b) => b.dir), [join(root, 'plugins', 'late')]);
  const applied = nextEvent(sup, 'config', '*');
  writeFileSync(join(root, 'hot-loading.yaml'), pluginsYaml(['one']));
  assert.equal((await applied).ok, true);
  assert.deepEqual(sup.brokenPlugins(), []);
});

test('a plugin added to hot-loading.yaml whose package.json is written before its entry is loaded once the entry is', { timeout: 30_000 }, async (t) => {
  const { sup, root } = await addLateToYaml(t);
  const dir = join(root, 'plugins', 'late');
  const retried = nextEvent(sup, 'change', `broken:${dir}`);
  writePlugin(dir, { 'package.json': { name: 'late', version: '1.0.0', type: 'module', main: 'src/main.ts' } });
  await retried;
  await sup.watcher!.idle();
  const loaded = nextEvent(sup, 'load', 'late');
  writePlugin(dir, { 'src/main.ts': "export default { commands: { v: () => 'late' } };\n" });
  await loaded;
  assert.equal(await sup.call('late', 'v'), 'late');
});

test('turning reload.backup_state on in hot-loading.yaml takes effect without a restart', async (t) => {
  const root = tempDir(t);
  writeVersioned(join(root, 'plugins', 'one'), { version: '1.0.0', name: 'one' });
  const file = join(root, 'hot-loading.yaml');
  const yaml = (backup: boolean): string =>
    `hot_loading:\n  log_level: silent\n  watch:\n    enabled: true\n  safety:\n    cooldown_period: 0.05\n  reload:\n    backup_state: ${backup}\n    checkpoint_interval: 0\n  plugins:\n    - path: plugins/one\n`;
  writeFileSync(file, yaml(false));
  const sup = new Supervisor({ root, config: 'hot-loading.yaml' });
  t.after(() => sup.stop());
  await sup.start();
  await sup.call('one', 'inc');
  const applied = nextEvent(sup, 'config', '*');
  writeFileSync(file, yaml(true));
  assert.equal((await applied).ok, true);
  assert.equal(sup.config.reload.backupState, true);
  // stop() checkpoints every plugin's state when backups are on: they are now.
  await sup.stop();
  assert.ok(existsSync(join(root, '.plugvisor', 'state', 'one.v8')));
});

test('a reload.timeout changed in hot-loading.yaml bounds the next start of a plugin loaded before', { timeout: 60_000 }, async (t) => {
  const root = tempDir(t);
  const hang = join(root, 'hang');
  writePlugin(join(root, 'plugins', 'one'), {
    'package.json': { name: 'one', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { restart: { maxRestarts: 1, windowSeconds: 60, backoffInitialMs: 0 } } },
    // Once the file exists, a new worker's import never finishes.
    'index.js': `import { existsSync } from 'node:fs';
if (existsSync(${JSON.stringify(hang)})) await new Promise(() => setInterval(() => {}, 1000));
export default { commands: { die: () => process.exit(3) } };
`,
  });
  const file = join(root, 'hot-loading.yaml');
  const yaml = (timeout: number): string =>
    `hot_loading:\n  log_level: silent\n  watch:\n    enabled: true\n  safety:\n    cooldown_period: 0.05\n  reload:\n    timeout: ${timeout}\n    spare_worker: false\n  plugins:\n    - path: plugins/one\n`;
  writeFileSync(file, yaml(30));
  const sup = new Supervisor({ root, config: 'hot-loading.yaml' });
  t.after(() => sup.stop());
  await sup.start();
  const applied = nextEvent(sup, 'config', '*');
  writeFileSync(file, yaml(11));
  assert.equal((await applied).ok, true);
  writeFileSync(hang, '');
  await sup.call('one', 'die').catch(() => undefined);
  // The restart's worker never loads: it fails after the new bound (11 s), not the old one (30 s).
  while (sup.info('one').status !== 'failed') await new Promise((resolve) => setTimeout(resolve, 50));
  assert.match(sup.info('one').error ?? '', /did not load within 11000 ms/);
});

test('development mode with reload_on_import_error: a plugin that fails to load at start is loaded once it is fixed', async (t) => {
  const root = tempDir(t);
  const dir = writeVersioned(join(root, 'plugins', 'v'), { version: '1.0.0' });
  writeFileSync(join(dir, 'index.ts'), 'export default {{');
  const sup = await watching(t, root, {
    plugins: [{ path: 'plugins/v' }],
    development_mode: true,
    development: { reload_on_import_error: true },
    log_level: 'silent',
  });
  assert.deepEqual(sup.list(), []);
  const loaded = nextEvent(sup, 'load', 'versioned');
  writeVersioned(dir, { version: '1.0.1' });
  await loaded;
  assert.deepEqual(await sup.call('versioned', 'get'), { version: '1.0.1', count: 0 });
});

/** A project whose plugins/linked is a symbolic link to a plugin folder elsewhere. */
function linkedPlugin(t: TestContext): { root: string; dir: string } {
  const root = tempDir(t);
  const dir = writeVersioned(join(tempDir(t), 'v'), { version: '1.0.0' });
  mkdirSync(join(root, 'plugins'));
  symlinkSync(dir, join(root, 'plugins', 'linked'), 'dir');
  return { root, dir };
}

test('a plugin folder that is a symbolic link is watched through the link', async (t) => {
  const { root, dir } = linkedPlugin(t);
  const sup = await watching(t, root, { plugins: [{ path: 'plugins/linked' }] });
  const reloaded = nextEvent(sup, 'reload', 'versioned');
  writeVersioned(dir, { version: '1.1.0' });
  assert.equal((await reloaded).toVersion, '1.1.0');
});

test('a plugin folder linked in and loaded after the start is watched through the link, package.json included', async (t) => {
  const { root, dir } = linkedPlugin(t);
  const sup = await watching(t, root);
  await sup.load(join(root, 'plugins', 'linked'));
  const reloaded = nextEvent(sup, 'reload', 'versioned');
  // Only the manifest changes: the one file the plugin's module graph does not name by its real path.
  const manifest = join(dir, 'package.json');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"1.0.0"', '"1.0.1"'));
  assert.equal((await reloaded).toVersion, '1.0.1');
});

for (const when of ['at once', 'during the initial scan'] as const) {
  test(`a watcher closed while it starts (${when}) watches nothing afterwards`, async (t) => {
    const root = tempDir(t);
    for (let i = 0; i < 200; i++) {
      mkdirSync(join(root, `d${i}`));
      for (let j = 0; j < 5; j++) writeFileSync(join(root, `d${i}`, `f${j}.ts`), 'x');
    }
    const events: string[] = [];
    const watcher = new PluginWatcher({
      root, patterns: ['**/*.ts'], ignore: [], cooldownMs: 20, log: pino({ level: 'silent' }),
      targets: () => [], onBatch: async () => undefined, onRawEvent: (event, file) => events.push(`${event} ${file}`),
    });
    const started = watcher.start();
    if (when === 'during the initial scan') await new Promise((resolve) => setImmediate(resolve));
    await watcher.close();
    assert.equal(await settlesWithin(started, 5_000), true, 'start() settles');
    writeFileSync(join(root, 'd0', 'f0.ts'), 'changed after close');
    writeFileSync(join(root, 'added.ts'), 'added after close');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(events, [], 'no chokidar watcher left running');
  });
}
