/**
 * The CLI against a real host: `plugvisor start` in a temp project, the built CLI spawned for each
 * command. Exit codes, text and --json output, the errors for unknown plugins, bad arguments and
 * a missing host, the control socket's permissions and protocol errors.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ControlClient } from '../src/control/control-client.js';
import { CliProcess, cli, cliJson, copyExamplePlugin, createProject, removeProject, startHost } from './cli-helpers.js';

const doubler = {
  'package.json': { name: 'doubler', version: '1.0.0', type: 'module', main: 'index.ts', plugvisor: { dependsOn: { counter: '^1.0.0' } } },
  'index.ts': `export default { commands: { async doubled(ctx) { return 2 * (await ctx.plugins.counter.get()); } } };\n`,
};
const keeper = {
  'package.json': { name: 'keeper', version: '1.0.0', type: 'module', main: 'index.ts' },
  'index.ts': `export default {
  state: () => ({ items: new Map() }),
  commands: {
    put(ctx, key, value) { ctx.state.items.set(key, value); return ctx.state.items.size; },
    all(ctx) { return ctx.state.items; },
    fail() { throw Object.assign(new Error('quota exceeded'), { code: 'E_QUOTA' }); },
    failLines() { throw Object.assign(new Error('quota exceeded\\n  used 100 of 100\\n'), { code: 'E_QUOTA' }); },
    poison(ctx) { ctx.state.callback = () => 1; return true; },
    cure(ctx) { delete ctx.state.callback; return true; },
    forget(ctx, key) { ctx.state.items.delete(key); },
    bigs() { return { big: 2n ** 64n, array: new BigInt64Array([1n, -2n]), inSet: new Set([3n]) }; },
  },
};\n`,
};

let dir: string;
let host: CliProcess;

before(async () => {
  dir = createProject('plugvisor-cli-', { doubler, keeper });
  copyExamplePlugin('counter', dir);
  writeFileSync(join(dir, 'config', 'hot-loading.yaml'), JSON.stringify({ hot_loading: {
    log_level: 'info', plugins: [{ path: 'plugins/counter' }, { path: 'plugins/doubler' }, { path: 'plugins/keeper' }],
  } }));
  // An npm package that is a plugin, for load --from-package.
  mkdirSync(join(dir, 'node_modules', 'pkg-plugin'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'pkg-plugin', 'package.json'), JSON.stringify({ name: 'pkg-plugin', version: '2.3.0', type: 'module', main: 'index.js' }));
  writeFileSync(join(dir, 'node_modules', 'pkg-plugin', 'index.js'), 'export default { commands: { where: () => "from a package" } };\n');
  host = await startHost(dir);
});

after(async () => {
  const code = await host?.stop('SIGTERM');
  removeProject(dir);
  assert.equal(code, 0, 'SIGTERM drains and exits 0');
});

test('--help lists every command, the nested ones included', async () => {
  const r = await cli(dir, ['--help']);
  assert.equal(r.code, 0);
  for (const command of ['start', 'plugins load', 'plugins reload', 'plugins unload', 'plugins call', 'plugins status', 'plugins list', 'plugins info',
    'plugins deps', 'plugins dev', 'plugins debug ', 'plugins debug-watcher', 'plugins profile', 'dev mode', 'dev server', 'dev plugin create',
    'dev plugin validate', 'dev plugin test', 'dev plugin debug', 'dev plugin monitor', 'dev plugin analyze-deps']) {
    assert.match(r.stdout, new RegExp(`plugvisor ${command}`), command);
  }
});

test('the control socket lives in a 0700 folder, mode 0600, and host.json says where', () => {
  const run = join(dir, '.plugvisor', 'run');
  assert.equal(statSync(run).mode & 0o777, 0o700);
  assert.equal(statSync(join(run, 'control.sock')).mode & 0o777, 0o600);
  assert.ok(statSync(join(run, 'control.sock')).isSocket());
  const record = JSON.parse(readFileSync(join(run, 'host.json'), 'utf8'));
  assert.equal(record.socket, join(run, 'control.sock'));
  assert.equal(record.pid, host.child.pid);
});

test('without a host: exit 1 and one line naming PLUGVISOR_HOST_NOT_RUNNING', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'plugvisor-nohost-'));
  try {
    const [status, call, bySocket] = await Promise.all([
      cli(empty, ['plugins', 'status']),
      cli(empty, ['plugins', 'call', 'counter', 'get']),
      cli(dir, ['plugins', 'list', '--socket', join(empty, 'nothing.sock')]),
    ]);
    for (const r of [status, call, bySocket]) {
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^plugvisor: PLUGVISOR_HOST_NOT_RUNNING: no plugvisor host is running for .*\n$/);
    }
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('bad arguments: exit 2 and one line naming PLUGVISOR_BAD_ARGUMENTS', async () => {
  const results = await Promise.all([
    cli(dir, ['plugins', 'reload']),
    cli(dir, ['plugins', 'reload', 'counter', '--all']),
    cli(dir, ['plugins', 'frobnicate']),
    cli(dir, ['plugins', 'load']),
    cli(dir, ['plugins', 'load', 'x', '--path', 'plugins/keeper', '--from-package']),
    cli(dir, ['plugins', 'load', 'x', '--from-package', '--version', 'not a range']),
    cli(dir, ['dev', 'mode', '--enable', '--disable']),
    cli(dir, ['dev', 'plugin', 'monitor', 'counter', '--interval', 'soon']),
    cli(dir, ['dev', 'plugin', 'monitor', 'counter', '--interval', '0']),
    cli(dir, ['dev', 'plugin', 'monitor', 'counter', '--count', '0']),
    cli(dir, ['plugins', 'profile', 'counter', '--runs', '0']),
    // The host runs at most 100: more was cut to 100 without a word.
    cli(dir, ['plugins', 'profile', 'counter', '--runs', '101']),
    cli(dir, ['plugins', 'dev', 'counter', '--count', '0']),
    cli(dir, ['plugins', 'debug-watcher', '--test-events', '--timeout', '0']),
    // JSON that parses to a number beyond a double (Infinity): the control channel would carry it as null.
    cli(dir, ['plugins', 'call', 'keeper', 'put', 'k', '1e400']),
    cli(dir, ['plugins', 'call', 'keeper', 'put', 'k', '{"a":[-1e999]}']),
    // JSON nested deeper than the control channel can write: it failed with a bare "Maximum call stack size exceeded".
    cli(dir, ['plugins', 'call', 'keeper', 'put', 'k', `${'['.repeat(20_000)}${']'.repeat(20_000)}`]),
  ]);
  for (const r of results) {
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^plugvisor: PLUGVISOR_BAD_ARGUMENTS: [^\n]+\n$/);
  }
});

test('status, list and info: tables and key/value text, or JSON', async () => {
  const [status, loaded, available, info, statusJson, infoJson] = await Promise.all([
    cli(dir, ['plugins', 'status']),
    cli(dir, ['plugins', 'list', '--loaded']),
    cli(dir, ['plugins', 'list']),
    cli(dir, ['plugins', 'info', 'counter']),
    cliJson(dir, ['plugins', 'status']),
    cliJson(dir, ['plugins', 'info', 'counter']),
  ]);
  assert.equal(status.code, 0);
  assert.match(status.stdout, new RegExp(`host +pid ${host.child.pid}`));
  assert.match(status.stdout, /^NAME +VERSION +STATUS/m);
  assert.match(loaded.stdout, /^counter +1\.2\.0 +serving +eager/m);
  assert.match(loaded.stdout, /^doubler +1\.0\.0 +serving/m);
  assert.match(available.stdout, /^keeper +1\.0\.0 +yes +serving +yes/m);
  assert.match(info.stdout, /^commands +increment, get, reset$/m);
  assert.match(info.stdout, /^dependents +doubler$/m);
  assert.equal(statusJson.host.root, dir);
  assert.equal(statusJson.host.watching, false);
  assert.deepEqual(statusJson.plugins.map((p: { name: string }) => p.name).sort(), ['counter', 'doubler', 'keeper']);
  assert.equal(infoJson.name, 'counter');
  assert.deepEqual(infoJson.health, { ok: true, count: 0 });
});

test('call: arguments parsed as JSON where they parse; results as text or JSON; errors keep their code', async () => {
  assert.equal((await cli(dir, ['plugins', 'call', 'counter', 'increment', '5'])).stdout, '5\n');
  assert.equal((await cli(dir, ['plugins', 'call', 'counter', 'increment', '-2'])).stdout, '3\n');
  assert.equal((await cli(dir, ['plugins', 'call', 'keeper', 'put', 'a', '{"x":[1,2]}'])).stdout, '1\n');
  await cli(dir, ['plugins', 'call', 'keeper', 'put', 'b', 'plain text']);
  const text = await cli(dir, ['plugins', 'call', 'keeper', 'all']);
  assert.match(text.stdout, /^Map\(2\) \{/);
  assert.deepEqual(await cliJson(dir, ['plugins', 'call', 'keeper', 'all']), { a: { x: [1, 2] }, b: 'plain text' });
  assert.equal(await cliJson(dir, ['plugins', 'call', 'doubler', 'doubled']), 6);

  const [unknownPlugin, unknownCommand, failing] = await Promise.all([
    cli(dir, ['plugins', 'call', 'nope', 'get']),
    cli(dir, ['plugins', 'call', 'counter', 'nope']),
    cli(dir, ['plugins', 'call', 'keeper', 'fail']),
  ]);
  assert.equal(unknownPlugin.code, 1);
  assert.match(unknownPlugin.stderr, /^plugvisor: PLUGVISOR_PLUGIN_NOT_FOUND: no plugin named "nope" is loaded \(loaded: .*\)\n$/);
  assert.match(unknownCommand.stderr, /^plugvisor: PLUGVISOR_COMMAND_NOT_FOUND: .*increment, get, reset/);
  assert.equal(failing.code, 1);
  assert.equal(failing.stderr, 'plugvisor: E_QUOTA: quota exceeded\n');
  // A message of several lines is printed whole, on the one line.
  const lines = await cli(dir, ['plugins', 'call', 'keeper', 'failLines']);
  assert.equal(lines.code, 1);
  assert.equal(lines.stderr, 'plugvisor: E_QUOTA: quota exceeded used 100 of 100\n');
});

test('call --json of a command that returns nothing prints null, valid JSON (as the HTTP API answers {"result":null})', async () => {
  const json = await cli(dir, ['plugins', 'call', 'keeper', 'forget', 'no-such-key', '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.stdout, 'null\n');
  assert.equal(JSON.parse(json.stdout), null);
  assert.equal((await cli(dir, ['plugins', 'call', 'keeper', 'forget', 'no-such-key'])).stdout, 'undefined\n', 'text shows the value as Node does');
  // The control answer itself carries value: null (a client other than the CLI reads it too).
  const client = await ControlClient.connect({ cwd: dir });
  try {
    const outcome = await client.request('call', { name: 'keeper', command: 'forget', args: ['no-such-key'] });
    assert.equal(outcome.value, null);
  } finally {
    client.close();
  }
});

test('call of a command returning BigInts (a BigInt64Array among them) prints them as strings with --json, and as Node shows them', async () => {
  const json = await cli(dir, ['plugins', 'call', 'keeper', 'bigs', '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), { big: '18446744073709551616', array: ['1', '-2'], inSet: ['3'] });
  const text = await cli(dir, ['plugins', 'call', 'keeper', 'bigs']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /BigInt64Array\(2\) \[ 1n, -2n \]/);
});

test('info, deps and unload of an unknown plugin fail with PLUGVISOR_PLUGIN_NOT_FOUND', async () => {
  const results = await Promise.all([['info'], ['deps'], ['unload'], ['reload'], ['profile'], ['debug']].map((c) => cli(dir, ['plugins', ...c, 'ghost'])));
  for (const r of results) {
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^plugvisor: PLUGVISOR_PLUGIN_NOT_FOUND: no plugin named "ghost"/);
  }
});

test('deps: ranges, loaded versions and the dependents a reload drags along', async () => {
  const text = await cli(dir, ['plugins', 'deps', 'doubler']);
  assert.match(text.stdout, /^counter +\^1\.0\.0 +1\.2\.0 +yes$/m);
  const json = await cliJson(dir, ['plugins', 'deps', 'counter']);
  assert.deepEqual(json, { name: 'counter', dependsOn: [], dependents: ['doubler'] });
  const analysis = await cli(dir, ['dev', 'plugin', 'analyze-deps', 'counter']);
  assert.equal(analysis.code, 0);
  assert.match(analysis.stdout, /a reload of counter also reloads, in this order: doubler 1\.0\.0 \(serving; needs counter \^1\.0\.0\)/);
  const tree = await cliJson(dir, ['dev', 'plugin', 'analyze-deps', 'doubler']);
  assert.equal(tree.dependsOn[0].name, 'counter');
  assert.equal(tree.dependsOn[0].satisfied, true);
  assert.deepEqual(tree.reloadGroup, ['doubler']);
});

test('deps of a plugin whose dependency was force-reloaded out of its range exits 1, with --json too', async () => {
  const base = join(dir, 'plugins', 'dep-base');
  const user = join(dir, 'plugins', 'dep-user');
  const manifest = (version: string) => JSON.stringify({ name: 'dep-base', version, type: 'module', main: 'index.js' });
  mkdirSync(base);
  mkdirSync(user);
  writeFileSync(join(base, 'package.json'), manifest('1.0.0'));
  writeFileSync(join(base, 'index.js'), 'export default { commands: { one: () => 1 } };\n');
  writeFileSync(join(user, 'package.json'), JSON.stringify({ name: 'dep-user', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { dependsOn: { 'dep-base': '^1.0.0' } } }));
  writeFileSync(join(user, 'index.js'), 'export default { commands: { two: () => 2 } };\n');
  try {
    assert.equal((await cli(dir, ['plugins', 'load', 'dep-base'])).code, 0);
    assert.equal((await cli(dir, ['plugins', 'load', 'dep-user'])).code, 0);
    writeFileSync(join(base, 'package.json'), manifest('2.0.0'));
    assert.equal((await cli(dir, ['plugins', 'reload', 'dep-base', '--force'])).code, 0);
    const [text, json] = await Promise.all([cli(dir, ['plugins', 'deps', 'dep-user']), cli(dir, ['plugins', 'deps', 'dep-user', '--json'])]);
    assert.match(text.stdout, /^dep-base +\^1\.0\.0 +2\.0\.0 +NO$/m);
    for (const r of [text, json]) {
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, 'plugvisor: PLUGVISOR_DEPENDENCY_MISSING: dep-user has unsatisfied dependencies\n');
    }
    assert.equal(JSON.parse(json.stdout).dependsOn[0].satisfied, false, 'the JSON is printed all the same');
  } finally {
    await cli(dir, ['plugins', 'unload', 'dep-user']);
    await cli(dir, ['plugins', 'unload', 'dep-base']);
    rmSync(base, { recursive: true, force: true });
    rmSync(user, { recursive: true, force: true });
  }
});

test('reload keeps the state and reloads the dependents; a broken file rolls back with the reason', async () => {
  const before = Number((await cli(dir, ['plugins', 'call', 'counter', 'get'])).stdout);
  const ok = await cli(dir, ['plugins', 'reload', 'counter']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^reloaded counter 1\.2\.0 → 1\.2\.0 in [\d.]+ ms \(pause [\d.]+ ms, state \d+ B\)$/m);
  assert.match(ok.stdout, /its dependents were reloaded with it: doubler/);
  assert.equal(Number((await cli(dir, ['plugins', 'call', 'counter', 'get'])).stdout), before);

  const entry = join(dir, 'plugins', 'counter', 'index.ts');
  const source = readFileSync(entry, 'utf8');
  appendFileSync(entry, '\nexport const broken = ;\n');
  try {
    const failed = await cli(dir, ['plugins', 'reload', 'counter', '--json']);
    assert.equal(failed.code, 1);
    const result = JSON.parse(failed.stdout);
    assert.equal(result.ok, false);
    assert.equal(result.rolledBack, true);
    assert.equal(result.error.code, 'PLUGVISOR_COMPILE_FAILED');
    assert.equal(result.error.step, 'compile');
    assert.match(failed.stderr, /^plugvisor: PLUGVISOR_COMPILE_FAILED: reload of counter failed at step compile: .*index\.ts:\d+:\d+.*\(1\.2\.0 keeps serving\)\n$/);

    const diagnosis = await cli(dir, ['plugins', 'debug', 'counter']);
    assert.equal(diagnosis.code, 1);
    assert.match(diagnosis.stdout, /^PROBLEM +syntax +compile: /m);
    assert.match(diagnosis.stderr, /^plugvisor: PLUGVISOR_COMPILE_FAILED: counter will not reload: syntax: /);
  } finally {
    writeFileSync(entry, source);
  }
  assert.equal(Number((await cli(dir, ['plugins', 'call', 'counter', 'get'])).stdout), before, 'the old version kept serving');
});

test('reload --all, --force and --backup-state', async () => {
  // --help says what --force skips as the docs do: validation, never health(), which still gates the commit.
  const help = await cli(dir, ['plugins', 'reload', '--help']);
  assert.match(help.stdout, /--force +skip validation \(engines, dependency ranges\); health\(\) still\s+gates the commit/);
  const all = await cliJson(dir, ['plugins', 'reload', '--all', '--force']);
  assert.deepEqual(all.map((r: { plugin: string }) => r.plugin), ['counter', 'doubler', 'keeper']);
  assert.ok(all.every((r: { ok: boolean }) => r.ok));
  const backedUp = await cliJson(dir, ['plugins', 'reload', 'keeper', '--backup-state']);
  assert.equal(backedUp.ok, true);
  assert.ok(statSync(backedUp.backupFile).size > 0, 'the state before the reload is on disk');
});

test('profile --reload-time prints every phase of the reload', async () => {
  const text = await cli(dir, ['plugins', 'profile', 'keeper', '--reload-time']);
  assert.equal(text.code, 0, text.stderr);
  for (const phase of ['prepare', 'validate', 'spawn', 'drain', 'snapshot', 'activate', 'health', 'swap', 'dispose', 'total', 'pause']) {
    assert.match(text.stdout, new RegExp(`^${phase} +[\\d.]+ ms`, 'm'), phase);
  }
  const json = await cliJson(dir, ['plugins', 'profile', 'keeper', '--runs', '2']);
  assert.equal(json.length, 2);
  assert.ok(json[0].phases.spawn > 0);
});

test('debug --check-state-methods finds a state that will not serialise; --check-locks an editor swap file', async () => {
  await cli(dir, ['plugins', 'call', 'keeper', 'poison']);
  try {
    const r = await cli(dir, ['plugins', 'debug', 'keeper', '--check-state-methods']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^PROBLEM +state +plugin "keeper": its state cannot be serialised with node:v8/m);
    assert.match(r.stderr, /^plugvisor: PLUGVISOR_STATE_NOT_SERIALIZABLE: keeper will not reload: state: /);
    const reload = await cli(dir, ['plugins', 'reload', 'keeper']);
    assert.match(reload.stderr, /PLUGVISOR_STATE_NOT_SERIALIZABLE/, 'the diagnosis says what the reload then meets');
  } finally {
    await cli(dir, ['plugins', 'call', 'keeper', 'cure']);
  }
  const swap = join(dir, 'plugins', 'keeper', '.index.ts.swp');
  writeFileSync(swap, '');
  try {
    const locks = await cliJson(dir, ['plugins', 'debug', 'keeper', '--check-locks', '--check-dependencies']);
    assert.equal(locks.reloadable, true);
    assert.deepEqual(locks.checks, ['status', 'permissions', 'syntax', 'locks', 'dependencies']);
    assert.ok(locks.findings.some((f: { check: string; level: string; message: string }) => f.check === 'locks' && f.level === 'warn' && f.message.includes('vim swap file')));
  } finally {
    rmSync(swap);
  }
});

test('load from a folder or a package, with a name check and a version range; unload refuses while dependents remain', async () => {
  const refused = await cli(dir, ['plugins', 'unload', 'counter']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^plugvisor: PLUGVISOR_HAS_DEPENDENTS: .*doubler/);

  assert.match((await cli(dir, ['plugins', 'unload', 'doubler'])).stdout, /^unloaded doubler 1\.0\.0$/m);
  const mismatch = await cli(dir, ['plugins', 'load', 'other', '--path', 'plugins/doubler']);
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.stderr, /is named "doubler", not "other"/);
  const loaded = await cli(dir, ['plugins', 'load', 'doubler']);
  assert.equal(loaded.code, 0, loaded.stderr);
  assert.match(loaded.stdout, /^loaded doubler 1\.0\.0 \(serving, eager\) from .*plugins\/doubler$/m);
  const again = await cli(dir, ['plugins', 'load', 'doubler']);
  assert.match(again.stderr, /^plugvisor: PLUGVISOR_PLUGIN_EXISTS: /);

  const outOfRange = await cli(dir, ['plugins', 'load', 'pkg-plugin', '--from-package', '--version', '^3']);
  assert.equal(outOfRange.code, 1);
  assert.match(outOfRange.stderr, /^plugvisor: PLUGVISOR_PACKAGE_NOT_FOUND: package "pkg-plugin" is installed .* in version 2\.3\.0, outside the range \^3/);
  const fromPackage = await cliJson(dir, ['plugins', 'load', 'pkg-plugin', '--from-package', '--version', '^2']);
  assert.equal(fromPackage.version, '2.3.0');
  assert.equal(await cliJson(dir, ['plugins', 'call', 'pkg-plugin', 'where']), 'from a package');
  assert.deepEqual(await cliJson(dir, ['plugins', 'unload', 'pkg-plugin']), { name: 'pkg-plugin', version: '2.3.0', unloaded: true });
});

test('dev mode switches development mode of the running host', async () => {
  assert.deepEqual(await cliJson(dir, ['dev', 'mode', '--enable']), { developmentMode: true, logLevel: 'debug', changed: true });
  assert.match((await cli(dir, ['dev', 'mode'])).stdout, /^development mode on; log level debug$/m);
  assert.deepEqual(await cliJson(dir, ['dev', 'mode', '--disable']), { developmentMode: false, logLevel: 'info', changed: true });
});

test('dev plugin debug --verbose: the running plugin, its code, state, heap and recent events', async () => {
  const r = await cli(dir, ['dev', 'plugin', 'debug', 'counter', '--verbose']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^counter 1\.2\.0: serving$/m);
  assert.match(r.stdout, /^code +the code on disk is the code that runs$/m);
  assert.match(r.stdout, /^heap +[\d.]+ [kM]B used of/m);
  assert.match(r.stdout, /rollback .*"step":"compile"/, 'the failed reload of an earlier test is in the recent events');
  assert.match(r.stdout, /^manifest:$/m);
});

test('monitor samples call rate, latency, errors and memory', async () => {
  const client = await ControlClient.connect({ cwd: dir });
  const monitor = new CliProcess(dir, ['dev', 'plugin', 'monitor', 'keeper', '--metrics', '--interval', '300', '--count', '3', '--json']);
  let calling = true;
  const calls = (async () => {
    while (calling) {
      await client.request('call', { name: 'keeper', command: 'put', args: ['k', 1] });
      await client.request('call', { name: 'keeper', command: 'fail', args: [] }).catch(() => undefined);
    }
  })();
  try {
    assert.equal(await monitor.exited, 0, monitor.stderr);
  } finally {
    calling = false;
    await calls;
    client.close();
  }
  const samples = monitor.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(samples.length, 3);
  const busy = samples.find((s) => s.calls > 0);
  assert.ok(busy, 'calls were seen');
  assert.ok(busy.errors > 0 && busy.errorCodes.E_QUOTA > 0);
  assert.ok(busy.latencyMs.p50 > 0 && busy.latencyMs.max >= busy.latencyMs.p95);
  assert.ok(busy.heap.heapUsedBytes > 0);
  assert.deepEqual(busy.commands.map((c: { command: string }) => c.command).sort(), ['fail', 'put']);

  const once = await cli(dir, ['dev', 'plugin', 'monitor', 'counter', '--once', '--interval', '100']);
  assert.equal(once.code, 0);
  assert.match(once.stdout, /counter serving calls \d+ .* heap [\d.]+ [kM]B/);
});

test('plugins dev --watch --auto-reload reloads the plugin on save and reports a broken save', async () => {
  const dev = new CliProcess(dir, ['plugins', 'dev', 'keeper', '--watch', '--auto-reload', '--count', '2']);
  await dev.waitFor(/watching keeper .*a watcher of its own.*auto-reload on/);
  const entry = join(dir, 'plugins', 'keeper', 'index.ts');
  const source = readFileSync(entry, 'utf8');
  try {
    writeFileSync(entry, source.replace('quota exceeded', 'quota exceeded!'));
    await dev.waitFor(/reloaded keeper 1\.0\.0 → 1\.0\.0/);
    writeFileSync(entry, `${source}\nexport const broken = ;\n`);
    await dev.waitFor(/reload of keeper failed at step compile: .*the old version keeps serving/);
    assert.equal(await dev.exited, 0);
    assert.match(dev.stdout, /stopped after 2 reloads/);
  } finally {
    writeFileSync(entry, source);
    await dev.stop();
  }
});

test('debug-watcher: a host that does not watch says so', async () => {
  const config = await cli(dir, ['plugins', 'debug-watcher']);
  assert.equal(config.code, 0);
  assert.match(config.stdout, /^watching +off/m);
  const test = await cli(dir, ['plugins', 'debug-watcher', '--test-events']);
  assert.equal(test.code, 1);
  assert.match(test.stderr, /^plugvisor: PLUGVISOR_WATCH_DISABLED: /);
});

test('the control protocol: bad JSON and unknown methods get PLUGVISOR_CONTROL_REQUEST_INVALID', async () => {
  const socket = createConnection(join(dir, '.plugvisor', 'run', 'control.sock'));
  const lines: string[] = [];
  let buffered = '';
  socket.on('data', (d) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  socket.write('this is not json\n{"id":7,"method":"selfDestruct","params":{}}\n{"id":8,"method":"info","params":{}}\n');
  const deadline = Date.now() + 10_000;
  while (lines.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  socket.destroy();
  const answers = lines.map((l) => JSON.parse(l));
  const byId = new Map(answers.map((a) => [a.id, a]));
  assert.equal(byId.get(0).error.code, 'PLUGVISOR_CONTROL_REQUEST_INVALID');
  assert.match(byId.get(7).error.message, /unknown method "selfDestruct"/);
  assert.equal(byId.get(8).error.code, 'PLUGVISOR_CONTROL_REQUEST_INVALID');
});

test('a second host for the same project is refused while the first one answers', async () => {
  const second = await cli(dir, ['start']);
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`^plugvisor: PLUGVISOR_HOST_ALREADY_RUNNING: another plugvisor host \\(pid ${host.child.pid}\\) is running`));
  assert.equal((await cli(dir, ['plugins', 'call', 'counter', 'get'])).code, 0, 'the first host still answers');
});

test('start without config/hot-loading.yaml runs on the defaults; a --config that does not exist fails', async () => {
  const bare = mkdtempSync(join(tmpdir(), 'plugvisor-cli-bare-'));
  try {
    const missing = await cli(bare, ['start', '--config', 'config/hot-loading.yaml']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^plugvisor: PLUGVISOR_CONFIG_NOT_FOUND: config file .*hot-loading\.yaml does not exist/);
    const watching = await cli(bare, ['dev', 'server', '--port', '0', '--hot-reload', '--config', 'nope.yaml']);
    assert.equal(watching.code, 1);
    assert.match(watching.stderr, /^plugvisor: PLUGVISOR_CONFIG_NOT_FOUND: config file .*nope\.yaml does not exist/);
    // A YAML syntax error: one line naming the file and the position, without the parser's code frame.
    mkdirSync(join(bare, 'config'));
    writeFileSync(join(bare, 'config', 'broken.yaml'), 'hot_loading: [1\n');
    const broken = await cli(bare, ['start', '--config', 'config/broken.yaml']);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /^plugvisor: PLUGVISOR_CONFIG_INVALID: config file .*broken\.yaml is not valid YAML: .* at line 2, column 1\n$/);
    rmSync(join(bare, 'config'), { recursive: true });
    const defaults = await startHost(bare);
    try {
      assert.match(defaults.stdout, /no config file: running with the default settings/);
      assert.deepEqual(await cliJson(bare, ['plugins', 'list', '--json']), []);
    } finally {
      assert.equal(await defaults.stop(), 0);
    }
  } finally {
    removeProject(bare);
  }
});
