/**
 * The development commands against a real `plugvisor dev server --hot-reload` (port 0): a stale
 * control socket is taken over, plugins created from each template validate, pass their own tests
 * and load as created; validate --watch and test --hot-reload follow saves; the watcher test sees
 * a touch; the HTTP API answers next to the control channel.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { settlesWithin } from '../src/settles-within.js';
import { CliProcess, cli, cliJson, createProject, removeProject, startHost } from './cli-helpers.js';

let dir: string;
let host: CliProcess;
let url: string;

/** A project's one plugin, whose setup() leaves setup-ran in the project folder: its absence proves no plugin started. */
const SETUP_MARKER = {
  marker: {
    'package.json': { name: 'marker', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': `import { writeFileSync } from 'node:fs';\nexport default { setup() { writeFileSync(new URL('../../setup-ran', import.meta.url), 'yes'); }, commands: { ping: () => 'pong' } };\n`,
  },
};

/** A socket file whose process died without removing it, as after kill -9. */
async function leaveStaleSocket(socketPath: string): Promise<void> {
  mkdirSync(join(socketPath, '..'), { recursive: true, mode: 0o700 });
  const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(statSync(socketPath).isSocket(), 'the stale socket is there');
}

before(async () => {
  dir = createProject('plugvisor-cli-dev-', {
    'no-default': {
      'package.json': { name: 'no-default', version: '1.0.0', type: 'module', main: 'index.ts' },
      'index.ts': 'export const commands = {};\n',
    },
    'setup-throws': {
      'package.json': { name: 'setup-throws', version: '1.0.0', type: 'module', main: 'index.ts' },
      'index.ts': "export default { setup() { throw new Error('boom in setup'); }, commands: {} };\n",
    },
  }, { plugins: [] });
  await leaveStaleSocket(join(dir, '.plugvisor', 'run', 'control.sock'));
  host = await startHost(dir, ['dev', 'server', '--port', '0', '--hot-reload']);
  url = (await host.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/))[1]!;
});

after(async () => {
  const code = await host?.stop('SIGINT');
  removeProject(dir);
  assert.equal(code, 0, 'SIGINT drains and exits 0');
});

test('dev server: took over the stale socket; the host watches, and the HTTP API answers on 127.0.0.1', async () => {
  const status = await cliJson(dir, ['plugins', 'status']);
  assert.equal(status.host.httpUrl, url);
  assert.equal(status.host.watching, true);
  assert.equal(status.host.automaticReload, true);
  // --hot-reload over a config that does not watch: the file was read once, not "the defaults".
  assert.equal(status.host.configFile, join(dir, 'config', 'hot-loading.yaml'));
  assert.equal(status.host.configReadOnce, true);
  const text = await cli(dir, ['plugins', 'status']);
  assert.match(text.stdout, /^config +\S+hot-loading\.yaml \(read once at start, --hot-reload: its changes are not applied live\)$/m);
  const res = await fetch(`${url}/api/plugins`, { headers: { accept: 'application/json' } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), []);
  assert.equal(host.stdout.match(/"msg":"dev server listening"/g)?.length, 1, 'the listening line is logged once');
});

test('dev server on a busy port fails with PLUGVISOR_HTTP_PORT_IN_USE naming the port, before any plugin starts', async () => {
  // A plain server holds the port; another project folder, so the control socket is free.
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as AddressInfo).port;
  const other = createProject('plugvisor-cli-busy-', SETUP_MARKER);
  try {
    const r = await cli(other, ['dev', 'server', '--port', String(port)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^plugvisor: PLUGVISOR_HTTP_PORT_IN_USE: the dev server cannot listen on 127\\.0\\.0\\.1 port ${port}: another process is listening there; [^\\n]+\\n$`));
    assert.ok(!existsSync(join(other, 'setup-ran')), 'no plugin was loaded (its setup() did not run)');
    assert.ok(!existsSync(join(other, '.plugvisor', 'run', 'control.sock')), 'the host that could not start removed its socket');
  } finally {
    await new Promise((resolve) => holder.close(resolve));
    removeProject(other);
  }
});

test('dev server --host on a non-loopback address is refused with PLUGVISOR_HTTP_NOT_LOCAL before the host starts', async () => {
  const other = createProject('plugvisor-cli-notlocal-', SETUP_MARKER);
  try {
    const r = await cli(other, ['dev', 'server', '--host', '10.0.0.1', '--port', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^plugvisor: PLUGVISOR_HTTP_NOT_LOCAL: [^\n]*"10\.0\.0\.1"\n$/);
    assert.ok(!existsSync(join(other, 'setup-ran')), 'no plugin was loaded (its setup() did not run)');
    assert.ok(!existsSync(join(other, '.plugvisor', 'run')), 'no control channel was opened');
  } finally {
    removeProject(other);
  }
});

test('dev server --hot-reload with an invalid config names the file and the key, as start does', async () => {
  const other = createProject('plugvisor-cli-badconfig-', SETUP_MARKER, { watch: { enabld: true } });
  try {
    const file = join(other, 'config', 'hot-loading.yaml');
    for (const args of [['start'], ['dev', 'server', '--port', '0', '--hot-reload']]) {
      const r = await cli(other, args);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stderr, `plugvisor: PLUGVISOR_CONFIG_INVALID: ${file}: hot_loading.watch.enabld is not a known key\n`, args.join(' '));
    }
    assert.ok(!existsSync(join(other, 'setup-ran')), 'no plugin was loaded');
  } finally {
    removeProject(other);
  }
});

test('dev plugin create: each template validates and loads as created', async () => {
  const templates = ['command', 'stateful', 'pooled'];
  const created = await Promise.all(templates.map((template) => cli(dir, ['dev', 'plugin', 'create', `my-${template}`, '--template', template])));
  created.forEach((r, i) => {
    const name = `my-${templates[i]}`;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^created ${name} \\(${templates[i]}\\) in ${join(dir, 'plugins', name)}:$`, 'm'));
    for (const file of ['package.json', 'index.ts', 'index.test.mjs']) assert.ok(existsSync(join(dir, 'plugins', name, file)), file);
  });
  const reports = await Promise.all(templates.map((template) => cliJson(dir, ['dev', 'plugin', 'validate', `my-${template}`])));
  for (const report of reports) {
    assert.equal(report.ok, true, JSON.stringify(report.error));
    assert.deepEqual(report.steps.filter((s: { ok: boolean }) => !s.ok), []);
    assert.ok(report.steps.some((s: { step: string; skipped?: boolean }) => s.step === 'activate' && !s.skipped), 'state() and setup() ran');
  }
  for (const loaded of await Promise.all(templates.map((template) => cli(dir, ['plugins', 'load', `my-${template}`])))) {
    assert.equal(loaded.code, 0, loaded.stderr);
  }
  const [hello, count, hash, info, again, badTemplate] = await Promise.all([
    cliJson(dir, ['plugins', 'call', 'my-command', 'hello', 'CLI']),
    cliJson(dir, ['plugins', 'call', 'my-stateful', 'increment', '4']),
    cliJson(dir, ['plugins', 'call', 'my-pooled', 'sha256', 'abc']),
    cliJson(dir, ['plugins', 'info', 'my-pooled']),
    cli(dir, ['dev', 'plugin', 'create', 'my-command']),
    cli(dir, ['dev', 'plugin', 'create', 'x', '--template', 'fancy']),
  ]);
  assert.equal(hello, 'Hello, CLI!');
  assert.equal(count, 4);
  assert.equal(hash, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(info.pooled, true);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /^plugvisor: PLUGVISOR_BAD_ARGUMENTS: .*already exists/);
  assert.match(badTemplate.stderr, /unknown template "fancy" \(templates: command, stateful, pooled\)/);
});

test('dev plugin test runs the plugin\'s tests; a failing test fails the command', async () => {
  // The test files of the templates pass as created.
  for (const passed of await Promise.all(['my-stateful', 'my-pooled'].map((name) => cli(dir, ['dev', 'plugin', 'test', name])))) {
    assert.equal(passed.code, 0, passed.stdout + passed.stderr);
    assert.match(passed.stdout, /# pass 2/);
  }
  const testFile = join(dir, 'plugins', 'my-command', 'index.test.mjs');
  const source = readFileSync(testFile, 'utf8');
  writeFileSync(testFile, source.replace("'Hello, plugvisor!'", "'Bonjour'"));
  try {
    const failed = await cli(dir, ['dev', 'plugin', 'test', 'my-command']);
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /# fail 1/);
    assert.match(failed.stderr, /^plugvisor: PLUGVISOR_TESTS_FAILED: the tests of my-command failed/m);
  } finally {
    writeFileSync(testFile, source);
  }
  const none = await cli(dir, ['dev', 'plugin', 'test', 'no-default']);
  assert.match(none.stderr, /^plugvisor: PLUGVISOR_TESTS_FAILED: no test files in /);
});

test('dev plugin test: a SIGTERM to the command ends the tests it runs too, and exits 143', async (t) => {
  // The test file connects to this server and never finishes: the connection closes when the
  // process running it is gone, and it sends its pid so that cleanup can end it if it is not.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const project = createProject('plugvisor-cli-test-signal-', {
    endless: {
      'package.json': { name: 'endless', version: '1.0.0', type: 'module', main: 'index.js' },
      'index.js': 'export default { commands: { ping: () => "pong" } };\n',
      'endless.test.mjs': `import { connect } from 'node:net';\nimport { test } from 'node:test';\n`
        + `test('never ends', () => new Promise(() => { const s = connect(${port}, '127.0.0.1', () => s.write(String(process.pid))); }));\n`,
    },
  }, { plugins: [] });
  const connected = new Promise<{ closed: Promise<void>; pid: Promise<number> }>((resolve) => server.once('connection', (socket) => resolve({
    closed: new Promise((done) => socket.once('close', () => done())),
    pid: new Promise((done) => socket.once('data', (d: Buffer) => done(Number(d.toString())))),
  })));
  const tests = new CliProcess(project, ['dev', 'plugin', 'test', 'endless']);
  let testPid: number | undefined;
  t.after(async () => {
    await tests.stop('SIGKILL');
    if (testPid !== undefined) {
      try {
        process.kill(testPid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
    server.close();
    removeProject(project);
  });
  const running = await connected;
  testPid = await running.pid;
  assert.equal(await tests.stop('SIGTERM'), 143);
  // Waited for: 'exit' can come before the last of stderr is read.
  await tests.waitFor(/^plugvisor: the tests of endless were stopped by SIGTERM$/m, 10_000, 'stderr');
  assert.ok(await settlesWithin(running.closed, 10_000), 'the process running the test file is gone');
});

test('dev plugin validate names the step and the reason; unknown plugins fail', async () => {
  const invalid = await cli(dir, ['dev', 'plugin', 'validate', 'no-default']);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stdout, /^FAIL +load +PLUGVISOR_PLUGIN_INVALID: .*no default export/m);
  assert.match(invalid.stderr, /^plugvisor: PLUGVISOR_PLUGIN_INVALID: /);
  // Named as `plugins load` names it.
  const setup = await cli(dir, ['dev', 'plugin', 'validate', 'setup-throws']);
  assert.equal(setup.code, 1);
  assert.match(setup.stderr, /^plugvisor: PLUGVISOR_SETUP_FAILED: plugin "setup-throws": setup\(\) failed: boom in setup\n$/);
  const unknown = await cli(dir, ['dev', 'plugin', 'validate', 'ghost']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^plugvisor: PLUGVISOR_MANIFEST_NOT_FOUND: no plugin folder for "ghost"/);
});

test('dev plugin validate --watch validates again on every save', async () => {
  const entry = join(dir, 'plugins', 'my-command', 'index.ts');
  const source = readFileSync(entry, 'utf8');
  const watch = new CliProcess(dir, ['dev', 'plugin', 'validate', 'my-command', '--watch']);
  try {
    await watch.waitFor(/my-command 0\.1\.0 is valid[^]*watching plugins\/my-command for changes \(Ctrl-C to stop\)/);
    writeFileSync(entry, source.replace('commands: {', 'commands: 42, x: {'));
    await watch.waitFor(/FAIL +load +PLUGVISOR_PLUGIN_INVALID: .*"commands" must be an object/);
    writeFileSync(entry, source);
    await watch.waitFor(/is valid[^]*is not valid[^]*is valid/);
    assert.equal(await watch.stop('SIGINT'), 0);
  } finally {
    writeFileSync(entry, source);
    await watch.stop('SIGKILL');
  }
});

test('dev plugin validate --watch validates again when a file the plugin imports from outside its folder is saved', async () => {
  const shared = join(dir, 'shared', 'greeting.ts');
  mkdirSync(join(dir, 'shared'), { recursive: true });
  writeFileSync(shared, "export const greeting = 'hi';\n");
  const plugin = join(dir, 'plugins', 'uses-shared');
  mkdirSync(plugin, { recursive: true });
  writeFileSync(join(plugin, 'package.json'), JSON.stringify({ name: 'uses-shared', version: '1.0.0', type: 'module', main: 'index.ts' }));
  writeFileSync(join(plugin, 'index.ts'), "import { greeting } from '../../shared/greeting.ts';\nexport default { commands: { hi: () => greeting } };\n");
  const watch = new CliProcess(dir, ['dev', 'plugin', 'validate', 'uses-shared', '--watch']);
  try {
    await watch.waitFor(/uses-shared 1\.0\.0 is valid[^]*watching plugins\/uses-shared for changes/);
    writeFileSync(shared, 'export const greeting = ;\n');
    await watch.waitFor(/changed: \.\.\/\.\.\/shared\/greeting\.ts; validating again[^]*FAIL +compile +PLUGVISOR_COMPILE_FAILED: .*greeting\.ts/);
    assert.equal(await watch.stop('SIGINT'), 0);
  } finally {
    await watch.stop('SIGKILL');
    rmSync(plugin, { recursive: true, force: true });
    rmSync(join(dir, 'shared'), { recursive: true, force: true });
  }
});

test('dev plugin test --hot-reload runs the tests again on save', async () => {
  const testFile = join(dir, 'plugins', 'my-command', 'index.test.mjs');
  const tests = new CliProcess(dir, ['dev', 'plugin', 'test', 'my-command', '--hot-reload']);
  try {
    await tests.waitFor(/tests of my-command passed; watching for changes/, 60_000);
    writeFileSync(testFile, `${readFileSync(testFile, 'utf8')}\n// saved again\n`);
    await tests.waitFor(/changed: index\.test\.mjs; running again[^]*tests of my-command passed/, 60_000);
    assert.equal(await tests.stop('SIGINT'), 0);
  } finally {
    await tests.stop('SIGKILL');
  }
});

test('dev plugin test --hot-reload runs the tests again when a file the plugin imports from outside its folder is saved', async () => {
  const shared = join(dir, 'shared-t', 'greeting.ts');
  mkdirSync(join(dir, 'shared-t'), { recursive: true });
  writeFileSync(shared, "export const greeting = 'hi';\n");
  const plugin = join(dir, 'plugins', 'tests-shared');
  mkdirSync(plugin, { recursive: true });
  writeFileSync(join(plugin, 'package.json'), JSON.stringify({ name: 'tests-shared', version: '1.0.0', type: 'module', main: 'index.ts' }));
  writeFileSync(join(plugin, 'index.ts'), "import { greeting } from '../../shared-t/greeting.ts';\nexport default { commands: { hi: () => greeting } };\n");
  writeFileSync(join(plugin, 'index.test.mjs'), "import { test } from 'node:test';\ntest('runs', () => {});\n");
  const tests = new CliProcess(dir, ['dev', 'plugin', 'test', 'tests-shared', '--hot-reload']);
  try {
    await tests.waitFor(/tests of tests-shared passed; watching for changes/, 60_000);
    writeFileSync(shared, "export const greeting = 'hello';\n");
    await tests.waitFor(/changed: \.\.\/\.\.\/shared-t\/greeting\.ts; running again the tests of tests-shared/, 60_000);
    assert.equal(await tests.stop('SIGINT'), 0);
  } finally {
    await tests.stop('SIGKILL');
    rmSync(plugin, { recursive: true, force: true });
    rmSync(join(dir, 'shared-t'), { recursive: true, force: true });
  }
});

test('debug-watcher --test-events: the watcher sees a touch, maps it to its plugin, and reloads nothing', async () => {
  const before = (await cliJson(dir, ['plugins', 'info', 'my-stateful'])).reloadCount;
  const text = await cli(dir, ['plugins', 'debug-watcher', '--test-events', '--plugin', 'my-stateful']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^my-stateful: plugins\/my-stateful\/index\.ts, plugins\/my-stateful\/package\.json$/m);
  // "add" when the watcher's scan of files an earlier test created is still under way at the touch.
  assert.match(text.stdout, /the watcher saw "(change|add)" [\d.]+ ms after the touch, mapped to my-stateful; the content did not change, so nothing was reloaded/);
  const json = await cliJson(dir, ['plugins', 'debug-watcher', '--test-events', '--file', join(dir, 'plugins', 'my-command', 'package.json')]);
  assert.equal(json.test.seen, true);
  assert.deepEqual(json.test.plugins, ['my-command']);
  assert.equal(json.test.matchesPatterns, true);
  assert.equal((await cliJson(dir, ['plugins', 'info', 'my-stateful'])).reloadCount, before);
  // A file outside the project and every plugin's folder is not touched.
  const elsewhere = mkdtempSync(join(tmpdir(), 'plugvisor-elsewhere-'));
  try {
    const outside = join(elsewhere, 'elsewhere.txt');
    writeFileSync(outside, 'x');
    const mtime = statSync(outside).mtimeMs;
    const refused = await cli(dir, ['plugins', 'debug-watcher', '--test-events', '--file', outside]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^plugvisor: PLUGVISOR_BAD_ARGUMENTS: .*outside the project/);
    assert.equal(statSync(outside).mtimeMs, mtime);
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('with the host watching, a save reloads the plugin and plugins dev follows the host\'s watcher', async () => {
  const dev = new CliProcess(dir, ['plugins', 'dev', 'my-stateful', '--count', '1', '--json']);
  await dev.waitFor(/"type":"watching".*"watcher":"host"/);
  const entry = join(dir, 'plugins', 'my-stateful', 'index.ts');
  writeFileSync(entry, readFileSync(entry, 'utf8').replace("'ready'", "'ready again'"));
  assert.equal(await dev.exited, 0, dev.stderr);
  const events = dev.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => e.type), ['watching', 'change', 'reload']);
  assert.equal(events[1].action, 'reload');
  assert.equal(events[2].ok, true);
  assert.equal(await cliJson(dir, ['plugins', 'call', 'my-stateful', 'get']), 4, 'the state survived the reload');
});
