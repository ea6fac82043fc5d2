/**
 * Bad input (issue #2): every mistake in a manifest, a plugin's code, a config or a call is reported
 * with its PLUGVISOR_* code and a message naming the file, key or plugin, and leaves the supervisor
 * usable.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Supervisor, type PluginInfo } from 'plugvisor';
import { assertError, rejectionOf, thrownBy, type CodedError } from './expect.js';
import { fixture, startSupervisor, tempDir, writePlugin } from './helpers.js';

const INDEX = "export default { commands: { ping: () => 'pong' } };\n";

/** A plugin folder in a temp dir with this package.json (merged over a valid one) and a valid entry. */
function pluginWith(dir: string, manifest: Record<string, unknown> | string): string {
  const packageJson = typeof manifest === 'string' ? manifest
    : { name: 'temp-plugin', version: '1.0.0', type: 'module', main: 'index.js', ...manifest };
  return writePlugin(dir, { 'package.json': packageJson, 'index.js': INDEX });
}

/** The supervisor still loads and serves a plugin. */
async function assertUsable(sup: Supervisor): Promise<void> {
  await sup.load('plugins/counter');
  assert.equal(await sup.call('counter', 'increment', 1), 1);
}

function loadedNames(sup: Supervisor): string[] {
  return sup.list().map((p: PluginInfo) => p.name);
}

// --- manifests -------------------------------------------------------------------------------

test('a folder without package.json: PLUGVISOR_MANIFEST_NOT_FOUND naming the file', async (t) => {
  const sup = await startSupervisor(t);
  const err = await rejectionOf(sup.load('test/fixtures/missing-manifest'));
  assertError(err, 'PLUGVISOR_MANIFEST_NOT_FOUND', join(fixture('missing-manifest'), 'package.json'));
  const noFolder = await rejectionOf(sup.load('test/fixtures/no-such-folder'));
  assertError(noFolder, 'PLUGVISOR_MANIFEST_NOT_FOUND', fixture('no-such-folder'));
  assert.deepEqual(loadedNames(sup), []);
});

test('a package.json that is not JSON: PLUGVISOR_MANIFEST_INVALID naming the file', async (t) => {
  const dir = pluginWith(tempDir(t), '{ "name": "broken", "version": ');
  const sup = await startSupervisor(t);
  assertError(await rejectionOf(sup.load(dir)), 'PLUGVISOR_MANIFEST_INVALID', join(dir, 'package.json'), 'JSON');
  assert.deepEqual(loadedNames(sup), []);
});

test('an unknown key in the plugvisor section: PLUGVISOR_MANIFEST_INVALID naming the key path', async (t) => {
  const sup = await startSupervisor(t);
  const err = await rejectionOf(sup.load('test/fixtures/bad-manifest'));
  assertError(err, 'PLUGVISOR_MANIFEST_INVALID', join(fixture('bad-manifest'), 'package.json'), 'plugvisor.restartPolicy');
  assert.deepEqual(loadedNames(sup), []);
});

test('a wrong type in the plugvisor section: PLUGVISOR_MANIFEST_INVALID naming the key path', async (t) => {
  const sup = await startSupervisor(t);
  const wrongType = pluginWith(tempDir(t), { plugvisor: { limits: { callTimeoutMs: 'fast' } } });
  assertError(await rejectionOf(sup.load(wrongType)), 'PLUGVISOR_MANIFEST_INVALID', join(wrongType, 'package.json'), 'plugvisor.limits.callTimeoutMs');
  const badEnum = pluginWith(tempDir(t), { plugvisor: { activation: 'sometimes' } });
  assertError(await rejectionOf(sup.load(badEnum)), 'PLUGVISOR_MANIFEST_INVALID', 'plugvisor.activation');
  const noVersion = pluginWith(tempDir(t), { version: undefined });
  assertError(await rejectionOf(sup.load(noVersion)), 'PLUGVISOR_MANIFEST_INVALID', 'version');
  const badVersion = pluginWith(tempDir(t), { version: 'one' });
  assertError(await rejectionOf(sup.load(badVersion)), 'PLUGVISOR_MANIFEST_INVALID', 'version', '"one"');
  const badRestart = pluginWith(tempDir(t), { plugvisor: { restart: { maxRestarts: -1 } } });
  assertError(await rejectionOf(sup.load(badRestart)), 'PLUGVISOR_MANIFEST_INVALID', 'plugvisor.restart.maxRestarts');
  assert.deepEqual(loadedNames(sup), []);
});

test('an engines.plugvisor range that excludes this version: PLUGVISOR_ENGINE_INCOMPATIBLE', async (t) => {
  const dir = pluginWith(tempDir(t), { engines: { plugvisor: '^9.0.0' } });
  const sup = await startSupervisor(t);
  const err = await rejectionOf(sup.load(dir));
  assertError(err, 'PLUGVISOR_ENGINE_INCOMPATIBLE', join(dir, 'package.json'), '^9.0.0');
  assert.equal(err['plugin'], 'temp-plugin');
  assert.deepEqual(loadedNames(sup), []);
});

test('a dependency that is not loaded, or in the wrong version: PLUGVISOR_DEPENDENCY_MISSING', async (t) => {
  const sup = await startSupervisor(t);
  const dir = pluginWith(tempDir(t), { plugvisor: { dependsOn: { store: '^2.0.0' } } });
  assertError(await rejectionOf(sup.load(dir)), 'PLUGVISOR_DEPENDENCY_MISSING', '"temp-plugin"', '"store"');
  await sup.load('plugins/store'); // 2.1.0
  const tooNew = pluginWith(tempDir(t), { plugvisor: { dependsOn: { store: '^3.0.0' } } });
  assertError(await rejectionOf(sup.load(tooNew)), 'PLUGVISOR_DEPENDENCY_MISSING', '"store"', '^3.0.0', '2.1.0');
  // With the dependency loaded in a matching version, the same plugin loads.
  await sup.load(dir);
  assert.deepEqual(loadedNames(sup).sort(), ['store', 'temp-plugin']);
  assert.equal(await sup.call('temp-plugin', 'ping'), 'pong');
});

// --- plugin code -------------------------------------------------------------------------------

test('no default export: PLUGVISOR_PLUGIN_INVALID naming the entry file', async (t) => {
  const sup = await startSupervisor(t);
  const err = await rejectionOf(sup.load('test/fixtures/no-default-export'));
  assertError(err, 'PLUGVISOR_PLUGIN_INVALID', join(fixture('no-default-export'), 'index.ts'), 'default export');
  assert.deepEqual(loadedNames(sup), []);
});

test('a default export without commands: PLUGVISOR_PLUGIN_INVALID naming the entry file', async (t) => {
  const sup = await startSupervisor(t);
  const err = await rejectionOf(sup.load('test/fixtures/no-commands'));
  assertError(err, 'PLUGVISOR_PLUGIN_INVALID', join(fixture('no-commands'), 'index.ts'), 'commands');
  assert.deepEqual(loadedNames(sup), []);
});

test('commands that are an array or a class instance (its methods on the prototype): PLUGVISOR_PLUGIN_INVALID naming the entry file', async (t) => {
  const root = tempDir(t);
  const entries = {
    'array-commands': 'export default { commands: [() => 1] };\n',
    'class-commands': 'class Commands { get() { return 1; } }\nexport default { commands: new Commands() };\n',
  };
  const sup = await startSupervisor(t, { root });
  for (const [name, index] of Object.entries(entries)) {
    const dir = writePlugin(join(root, name), { 'package.json': { name, version: '1.0.0', type: 'module', main: 'index.js' }, 'index.js': index });
    assertError(await rejectionOf(sup.load(dir)), 'PLUGVISOR_PLUGIN_INVALID', join(dir, 'index.js'), '"commands" must be');
  }
  assert.deepEqual(loadedNames(sup), []);
});

test('a syntax error: PLUGVISOR_COMPILE_FAILED naming file:line', async (t) => {
  const sup = await startSupervisor(t);
  const err = await rejectionOf(sup.load('test/fixtures/syntax-error'));
  assertError(err, 'PLUGVISOR_COMPILE_FAILED', `${join(fixture('syntax-error'), 'index.ts')}:5`, '"syntax-error"');
  assert.deepEqual(loadedNames(sup), []);
});

test('an import that does not resolve: PLUGVISOR_COMPILE_FAILED naming the import and the file', async (t) => {
  const sup = await startSupervisor(t);
  const err = await rejectionOf(sup.load('test/fixtures/unresolvable-import'));
  assertError(err, 'PLUGVISOR_COMPILE_FAILED', 'plugvisor-test-no-such-package', join(fixture('unresolvable-import'), 'index.js'));
  assert.deepEqual(loadedNames(sup), []);
});

test('a module that throws while imported: PLUGVISOR_PLUGIN_LOAD_FAILED with the file and the reason', async (t) => {
  const sup = await startSupervisor(t);
  const err = await rejectionOf(sup.load('test/fixtures/throws-at-import'));
  assertError(err, 'PLUGVISOR_PLUGIN_LOAD_FAILED', join(fixture('throws-at-import'), 'index.ts'), 'thrown at import');
  assert.deepEqual(loadedNames(sup), []);
});

test('a setup() that throws: PLUGVISOR_SETUP_FAILED naming the plugin; the plugin is not loaded', async (t) => {
  const sup = await startSupervisor(t);
  const err = await rejectionOf(sup.load('test/fixtures/setup-throws'));
  assertError(err, 'PLUGVISOR_SETUP_FAILED', '"setup-throws"', 'setup', 'thrown in setup');
  assert.equal(err['plugin'], 'setup-throws');
  assert.deepEqual(loadedNames(sup), []);
  assertError(thrownBy(() => sup.info('setup-throws')), 'PLUGVISOR_PLUGIN_NOT_FOUND', 'setup-throws');
});

test('a plugin config that fails its configSchema: PLUGVISOR_PLUGIN_CONFIG_INVALID naming the file and key', async (t) => {
  const sup = await startSupervisor(t);
  const err = await rejectionOf(sup.load('test/fixtures/invalid-config'));
  assertError(err, 'PLUGVISOR_PLUGIN_CONFIG_INVALID', join(fixture('invalid-config'), 'config.yaml'), 'port', '"invalid-config"');
  assert.deepEqual(loadedNames(sup), []);
});

test('loading a plugin twice: PLUGVISOR_PLUGIN_EXISTS; the loaded one keeps serving', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  assert.equal(await sup.call('counter', 'increment', 4), 4);
  assertError(await rejectionOf(sup.load('plugins/counter')), 'PLUGVISOR_PLUGIN_EXISTS', '"counter"');
  assert.equal(await sup.call('counter', 'get'), 4);
  assert.equal(sup.info('counter').generation, 1);
});

test('one supervisor survives a run of failed loads and then loads and serves plugins', async (t) => {
  const sup = await startSupervisor(t);
  const sources = ['missing-manifest', 'bad-manifest', 'no-default-export', 'no-commands', 'syntax-error',
    'unresolvable-import', 'throws-at-import', 'setup-throws', 'invalid-config'].map((name) => `test/fixtures/${name}`);
  sources.push(pluginWith(tempDir(t), '{ "name": '));
  sources.push(pluginWith(tempDir(t), { engines: { plugvisor: '>=99' } }));
  sources.push(pluginWith(tempDir(t), { plugvisor: { dependsOn: { absent: '^1.0.0' } } }));
  const codes: string[] = [];
  for (const source of sources) codes.push(String((await rejectionOf(sup.load(source))).code));
  assert.deepEqual(codes, ['PLUGVISOR_MANIFEST_NOT_FOUND', 'PLUGVISOR_MANIFEST_INVALID', 'PLUGVISOR_PLUGIN_INVALID',
    'PLUGVISOR_PLUGIN_INVALID', 'PLUGVISOR_COMPILE_FAILED', 'PLUGVISOR_COMPILE_FAILED', 'PLUGVISOR_PLUGIN_LOAD_FAILED',
    'PLUGVISOR_SETUP_FAILED', 'PLUGVISOR_PLUGIN_CONFIG_INVALID', 'PLUGVISOR_MANIFEST_INVALID',
    'PLUGVISOR_ENGINE_INCOMPATIBLE', 'PLUGVISOR_DEPENDENCY_MISSING']);
  assert.deepEqual(loadedNames(sup), []);
  await assertUsable(sup);
  await sup.load('test/fixtures/throws-with-code');
  assert.equal(await sup.call('throws-with-code', 'calls'), 1);
  assert.deepEqual(loadedNames(sup).sort(), ['counter', 'throws-with-code']);
});

// --- calls -------------------------------------------------------------------------------------

test('load() of something that is not a folder path or { fromPackage, version? }: PLUGVISOR_BAD_ARGUMENTS saying what it got', async (t) => {
  const sup = await startSupervisor(t);
  const load = (source: unknown) => rejectionOf(sup.load(source as never));
  assertError(await load(undefined), 'PLUGVISOR_BAD_ARGUMENTS', 'load()', 'got undefined');
  assertError(await load(null), 'PLUGVISOR_BAD_ARGUMENTS', 'got null');
  assertError(await load(5), 'PLUGVISOR_BAD_ARGUMENTS', 'got number');
  assertError(await load(''), 'PLUGVISOR_BAD_ARGUMENTS', 'empty string');
  assertError(await load({}), 'PLUGVISOR_BAD_ARGUMENTS', 'fromPackage must be a non-empty string');
  assertError(await load({ fromPackage: 5 }), 'PLUGVISOR_BAD_ARGUMENTS', 'fromPackage must be a non-empty string, got number');
  assertError(await load({ fromPackage: 'x', verison: '^1' }), 'PLUGVISOR_BAD_ARGUMENTS', 'unknown key "verison"');
  assertError(await load({ fromPackage: 'x', version: 1 }), 'PLUGVISOR_BAD_ARGUMENTS', 'version must be a semver range');
  assertError(await load({ path: 'plugins/counter', fromPackage: 'counter' }), 'PLUGVISOR_BAD_ARGUMENTS', 'unknown key "fromPackage"');
  // A package name, not a path: it must not reach outside node_modules.
  assertError(await load({ fromPackage: '../plugins/counter' }), 'PLUGVISOR_BAD_ARGUMENTS', '"../plugins/counter" is not an npm package name');
  assertError(await load({ fromPackage: '@scope/../../plugins/counter' }), 'PLUGVISOR_BAD_ARGUMENTS', 'is not an npm package name');
  await assertUsable(sup);
});

test('an installed package whose package.json is not JSON: PLUGVISOR_MANIFEST_INVALID naming the file, with a range or without', async (t) => {
  const root = tempDir(t);
  const manifest = join(root, 'node_modules', 'broken-package', 'package.json');
  writePlugin(join(root, 'node_modules', 'broken-package'), { 'package.json': '{ "name": ', 'index.js': INDEX });
  const sup = await startSupervisor(t, { root });
  assertError(await rejectionOf(sup.load({ fromPackage: 'broken-package' })), 'PLUGVISOR_MANIFEST_INVALID', manifest, 'not valid JSON');
  assertError(await rejectionOf(sup.load({ fromPackage: 'broken-package', version: '^1' })), 'PLUGVISOR_MANIFEST_INVALID', manifest, 'not valid JSON');
});

test('an unknown plugin: PLUGVISOR_PLUGIN_NOT_FOUND naming it', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  const err = await rejectionOf(sup.call('nope', 'get'));
  assertError(err, 'PLUGVISOR_PLUGIN_NOT_FOUND', '"nope"');
  assertError(await rejectionOf(sup.plugin('nope')['get']!()), 'PLUGVISOR_PLUGIN_NOT_FOUND', '"nope"');
  assertError(thrownBy(() => sup.info('nope')), 'PLUGVISOR_PLUGIN_NOT_FOUND', '"nope"');
  assertError(await rejectionOf(sup.unload('nope')), 'PLUGVISOR_PLUGIN_NOT_FOUND', '"nope"');
  assert.equal(await sup.call('counter', 'increment', 1), 1);
});

test('reload options that are not { force?, backupState? } of booleans: PLUGVISOR_BAD_ARGUMENTS; nothing is reloaded', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  const reloadWith = (options: unknown) => rejectionOf(sup.reload('counter', options as never));
  assertError(await reloadWith(null), 'PLUGVISOR_BAD_ARGUMENTS', 'reload options', 'got null');
  assertError(await reloadWith(true), 'PLUGVISOR_BAD_ARGUMENTS', 'got boolean');
  assertError(await reloadWith({ force: 'yes' }), 'PLUGVISOR_BAD_ARGUMENTS', 'force must be boolean');
  assertError(await reloadWith({ forse: true }), 'PLUGVISOR_BAD_ARGUMENTS', '"forse" is not an option');
  assertError(await rejectionOf(sup.reloadAll({ backupState: 1 } as never)), 'PLUGVISOR_BAD_ARGUMENTS', 'backupState must be boolean');
  assert.equal(sup.info('counter').reloadCount, 0);
  assert.equal((await sup.reload('counter', { force: true, backupState: undefined })).ok, true);
});

test('an unknown command: PLUGVISOR_COMMAND_NOT_FOUND naming the command and the plugin', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  const err = await rejectionOf(sup.call('counter', 'decrement'));
  assertError(err, 'PLUGVISOR_COMMAND_NOT_FOUND', '"decrement"', '"counter"');
  assertError(await rejectionOf(sup.plugin('counter')['explode']!()), 'PLUGVISOR_COMMAND_NOT_FOUND', '"explode"');
  assert.equal(await sup.call('counter', 'increment', 1), 1);
  assert.equal(sup.info('counter').generation, 1);
});

test('arguments that cannot be cloned: PLUGVISOR_ARGS_NOT_CLONEABLE for that call only', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  // Three calls in one tick travel in one batch: only the uncloneable one fails.
  const [a, b, c] = await Promise.allSettled([
    sup.call('counter', 'increment', 1),
    sup.call('counter', 'increment', () => 1),
    sup.call('counter', 'increment', 1),
  ]);
  assert.deepEqual(a, { status: 'fulfilled', value: 1 });
  assert.deepEqual(c, { status: 'fulfilled', value: 2 });
  assert.equal(b.status, 'rejected');
  const err = (b as PromiseRejectedResult).reason as CodedError;
  assertError(err, 'PLUGVISOR_ARGS_NOT_CLONEABLE', '"counter"', '"increment"');
  assertError(await rejectionOf(sup.call('counter', 'increment', Symbol('s'))), 'PLUGVISOR_ARGS_NOT_CLONEABLE');
  assert.equal(await sup.call('counter', 'get'), 2);
});

test('a result that cannot be cloned: PLUGVISOR_RESULT_NOT_CLONEABLE; the plugin keeps serving', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('test/fixtures/returns-uncloneable');
  for (const command of ['handler', 'asyncHandler']) {
    const err = await rejectionOf(sup.call('returns-uncloneable', command));
    assertError(err, 'PLUGVISOR_RESULT_NOT_CLONEABLE', '"returns-uncloneable"', 'cloned');
    assert.equal(err['plugin'], 'returns-uncloneable');
    assert.equal(err['command'], command);
  }
  // In one batch with cloneable results: only the uncloneable one fails.
  const settled = await Promise.allSettled([
    sup.call('returns-uncloneable', 'echo', 1),
    sup.call('returns-uncloneable', 'handler'),
    sup.call('returns-uncloneable', 'echo', 3),
  ]);
  assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.deepEqual(await sup.call('returns-uncloneable', 'echo', { ok: true }), { ok: true });
  assert.equal(sup.info('returns-uncloneable').generation, 1);
});
test('a result nested too deeply for the host to read fails at once with PLUGVISOR_RESULT_NOT_CLONEABLE, not by timeout; calls still running are untouched', async (t) => {
  const sup = await startSupervisor(t);
  // 5,000 levels: the worker (4 MB stack) serialises it, the host's thread cannot deserialise it.
  await sup.load(writePlugin(tempDir(t), {
    'package.json': { name: 'deep-result', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { limits: { callTimeoutMs: 60_000 } } },
    'index.js': `let release;
export default { commands: {
  deep(ctx, depth) { let v = []; for (let i = 0; i < depth; i++) v = [v]; return v; },
  hold: () => new Promise((resolve) => { release = resolve; }),
  release: () => release('held'),
  echo: (ctx, v) => v,
} };
`,
  }));
  const held = sup.call('deep-result', 'hold');
  // Answered in the same message as the deep result: lost with it, and failed the same way.
  const [deep, sibling] = await Promise.allSettled([sup.call('deep-result', 'deep', 5000), sup.call('deep-result', 'echo', 1)]);
  assert.equal(deep.status, 'rejected');
  assertError((deep as PromiseRejectedResult).reason, 'PLUGVISOR_RESULT_NOT_CLONEABLE', '"deep-result"', '"deep"', 'could not be read on the host');
  assert.ok(sibling.status === 'fulfilled' || (sibling.reason as CodedError).code === 'PLUGVISOR_RESULT_NOT_CLONEABLE', 'the other call settles too');
  assert.equal(await sup.call('deep-result', 'release'), undefined);
  assert.equal(await held, 'held', 'a call still running when the message was lost is answered as usual');
  assert.equal(await sup.call('deep-result', 'echo', 2), 2);
  assert.equal(sup.info('deep-result').generation, 1);
});


// --- supervisor config -------------------------------------------------------------------------

test('a config object with an unknown key or a wrong type: PLUGVISOR_CONFIG_INVALID naming the key path', () => {
  assertError(thrownBy(() => new Supervisor({ config: { bogus: 1 } })), 'PLUGVISOR_CONFIG_INVALID', 'bogus');
  assertError(thrownBy(() => new Supervisor({ config: { reload: { timeout: 'soon' } } })), 'PLUGVISOR_CONFIG_INVALID', 'reload.timeout');
  assertError(thrownBy(() => new Supervisor({ config: { watch: { enabled: 'yes' } } })), 'PLUGVISOR_CONFIG_INVALID', 'watch.enabled');
  assertError(thrownBy(() => new Supervisor({ config: { safety: { colour: 'red' } } })), 'PLUGVISOR_CONFIG_INVALID', 'safety.colour');
});

test('Supervisor options of a wrong type, an unknown option or a root that is not a folder: PLUGVISOR_CONFIG_INVALID naming the option', (t) => {
  const make = (options: unknown) => () => new Supervisor(options as never);
  assertError(thrownBy(make(null)), 'PLUGVISOR_CONFIG_INVALID', 'Supervisor options', 'null');
  assertError(thrownBy(make('config/hot-loading.yaml')), 'PLUGVISOR_CONFIG_INVALID', 'Supervisor options', 'must be an object');
  assertError(thrownBy(make({ rooot: '.' })), 'PLUGVISOR_CONFIG_INVALID', '"rooot" is not an option');
  assertError(thrownBy(make({ root: 5 })), 'PLUGVISOR_CONFIG_INVALID', 'root must be a folder path');
  const missing = join(tempDir(t), 'no-such-folder');
  assertError(thrownBy(make({ root: missing })), 'PLUGVISOR_CONFIG_INVALID', `root ${missing} is not a folder`);
  assertError(thrownBy(make({ logger: 5 })), 'PLUGVISOR_CONFIG_INVALID', 'logger must be a pino logger');
});

test('start() twice, or after stop(): PLUGVISOR_NOT_STARTED saying which', async (t) => {
  const sup = await startSupervisor(t);
  assertError(await rejectionOf(sup.start()), 'PLUGVISOR_NOT_STARTED', 'start() was already called (supervisor is running)');
  await sup.stop();
  assertError(await rejectionOf(sup.start()), 'PLUGVISOR_NOT_STARTED', 'the supervisor is stopped', 'create a new Supervisor');
  const neverStarted = new Supervisor({ root: tempDir(t), config: { log_level: 'silent' } });
  await neverStarted.stop();
  const err = await rejectionOf(neverStarted.start());
  assertError(err, 'PLUGVISOR_NOT_STARTED', 'the supervisor is stopped');
  assert.ok(!err.message.includes('already called'), err.message);
});

test('a config file with an unknown key: PLUGVISOR_CONFIG_INVALID naming the file and the key path', (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'config'));
  const file = join(root, 'config', 'hot-loading.yaml');
  writeFileSync(file, 'hot_loading:\n  enabled: true\n  reload:\n    automatik: true\n');
  assertError(thrownBy(() => new Supervisor({ root, config: 'config/hot-loading.yaml' })), 'PLUGVISOR_CONFIG_INVALID', file, 'hot_loading.reload.automatik');
});

test('a config file section whose keys are all commented out takes the defaults; a scalar there is still an error', (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'config'));
  const file = join(root, 'config', 'hot-loading.yaml');
  writeFileSync(file, 'hot_loading:\n  plugins:\n    # - path: plugins/counter\n  watch:\n    # enabled: true\n  reload:\n  safety:\n');
  const config = new Supervisor({ root, config: 'config/hot-loading.yaml' }).config;
  assert.deepEqual(config.plugins, []);
  assert.equal(config.watch.enabled, false);
  assert.equal(config.reload.timeoutSeconds, 30);
  writeFileSync(file, 'hot_loading:\n  reload: 5\n');
  assertError(thrownBy(() => new Supervisor({ root, config: 'config/hot-loading.yaml' })), 'PLUGVISOR_CONFIG_INVALID', file, 'hot_loading.reload');
  writeFileSync(file, 'hot_loading:\n');
  assert.deepEqual(new Supervisor({ root, config: 'config/hot-loading.yaml' }).config.plugins, []);
});

test('a config file that does not exist: PLUGVISOR_CONFIG_NOT_FOUND naming it', (t) => {
  const root = tempDir(t);
  assertError(thrownBy(() => new Supervisor({ root, config: 'config/missing.yaml' })), 'PLUGVISOR_CONFIG_NOT_FOUND', join(root, 'config', 'missing.yaml'));
});

test('durations longer than a timer can hold are refused; the longest allowed ones work', async (t) => {
  // Node's timers hold 2^31-1 ms: longer delays fired after 1 ms, so a "never" timeout failed at once.
  for (const config of [{ reload: { timeout: Infinity } }, { reload: { timeout: 3_000_000 } }, { reload: { checkpoint_interval: 1e9 } }, { safety: { cooldown_period: 1e10 } }]) {
    const key = Object.keys(Object.values(config)[0]!)[0]!;
    assertError(thrownBy(() => new Supervisor({ config: { log_level: 'silent', ...config } })), 'PLUGVISOR_CONFIG_INVALID', key, '2147483');
  }
  const tooLong = pluginWith(tempDir(t), { plugvisor: { limits: { callTimeoutMs: 2 ** 31 } } });
  const sup = await startSupervisor(t, { config: { log_level: 'silent', reload: { timeout: 2_147_483 } } });
  assertError(await rejectionOf(sup.load(tooLong)), 'PLUGVISOR_MANIFEST_INVALID', 'plugvisor.limits.callTimeoutMs');
  await sup.load('plugins/counter');
  assert.equal(await sup.call('counter', 'increment', 2), 2);
  // A reload's activate waits for start, health and hand-off together: their sum is past a timer's reach.
  const r = await sup.reload('counter');
  assert.equal(r.ok, true, r.error?.message);
  assert.equal(await sup.call('counter', 'increment', 1), 3);
});

test('a hot_loading.plugins entry with a wrong key, type or range: PLUGVISOR_CONFIG_INVALID naming the file and the key path', (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'config'));
  const file = join(root, 'config', 'hot-loading.yaml');
  const entries: Array<[string, string]> = [
    ['- path: plugins/counter\n      verison: 1', 'hot_loading.plugins[0].verison'],
    ['- path: 5', 'hot_loading.plugins[0].path'],
    ['- fromPackage: some-plugin\n      version: "not a range!!"', 'hot_loading.plugins[0].version'],
    ['- path: plugins/counter\n      fromPackage: some-plugin', 'hot_loading.plugins[0] has both'],
    ['- path: plugins/counter\n      version: ^1.0.0', 'hot_loading.plugins[0].version'],
    ['- {}', 'hot_loading.plugins[0] needs'],
    ['- fromPackage: ../plugins/counter', 'hot_loading.plugins[0].fromPackage'],
  ];
  for (const [entry, keyPath] of entries) {
    writeFileSync(file, `hot_loading:\n  plugins:\n    ${entry}\n`);
    assertError(thrownBy(() => new Supervisor({ root, config: 'config/hot-loading.yaml' })), 'PLUGVISOR_CONFIG_INVALID', file, keyPath);
  }
  writeFileSync(file, 'hot_loading:\n  plugins:\n    - path: plugins/counter\n    - fromPackage: some-plugin\n      version: ^1.0.0\n');
  assert.deepEqual(new Supervisor({ root, config: 'config/hot-loading.yaml' }).config.plugins, [{ path: 'plugins/counter' }, { fromPackage: 'some-plugin', version: '^1.0.0' }]);
});

test('a config object holding a function, a symbol or a class instance: PLUGVISOR_CONFIG_INVALID naming the key path', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ plugins: [{ path: () => 'plugins/counter' }] }, 'plugins[0].path'],
    [{ watch: { enabled: Symbol('yes') } }, 'watch.enabled'],
    [{ reload: new Map([['timeout', 5]]) }, 'reload'],
  ];
  for (const [config, keyPath] of cases) {
    assertError(thrownBy(() => new Supervisor({ config })), 'PLUGVISOR_CONFIG_INVALID', keyPath);
  }
});
