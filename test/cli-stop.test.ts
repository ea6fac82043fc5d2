/**
 * Stopping a host (`plugvisor start`) while a CLI call is in flight. The first SIGINT/SIGTERM
 * refuses new requests but answers the call that runs (its CLI exits 0 with the result); a call
 * still running after reload.timeout is ended by the plugins' stop and answered with its error; a
 * second signal exits at once, 128 + the signal's number.
 *
 * The plugin `hold` answers `hold` only once a release file exists (it polls for it), so the test
 * decides when the call ends, and logs when the call started, so the test knows it is in flight.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { settlesWithin } from '../src/settles-within.js';
import { CliProcess, cli, cliJson, createProject, removeProject, startHost } from './cli-helpers.js';

const hold = {
  'package.json': { name: 'hold', version: '1.0.0', type: 'module', main: 'index.js' },
  'index.js': `import { existsSync } from 'node:fs';
export default {
  commands: {
    async hold(ctx, releaseFile) {
      ctx.log.info({ releaseFile }, 'hold: call started');
      while (!existsSync(releaseFile)) await new Promise((resolve) => setTimeout(resolve, 20));
      return { released: true };
    },
    ping: () => 'pong',
  },
};
`,
};

/** A project with `hold`, its host started, and a CLI call of `hold` in flight; all ended when the test ends. */
async function hostWithCallInFlight(t: TestContext, config: Record<string, unknown> = {}): Promise<{ dir: string; host: CliProcess; call: CliProcess; release: () => void }> {
  const dir = createProject('plugvisor-cli-stop-', { hold }, config);
  const host = await startHost(dir);
  const releaseFile = join(dir, 'release');
  const call = new CliProcess(dir, ['plugins', 'call', 'hold', 'hold', releaseFile, '--json']);
  t.after(async () => {
    await call.stop('SIGKILL');
    await host.stop('SIGKILL');
    removeProject(dir);
  });
  await host.waitFor(/"msg":"hold: call started"/);
  return { dir, host, call, release: () => writeFileSync(releaseFile, '') };
}

/** The exit code, or a failure when the process is still running after `ms`. */
async function exitCode(proc: CliProcess, ms: number, what: string): Promise<number | null> {
  assert.ok(await settlesWithin(proc.exited, ms), `${what} did not exit within ${ms} ms\nstdout: ${proc.stdout.slice(-2000)}\nstderr: ${proc.stderr.slice(-2000)}`);
  return proc.exited;
}

test('a graceful stop answers the CLI call in flight and refuses new requests with PLUGVISOR_HOST_STOPPING', async (t) => {
  const { dir, host, call, release } = await hostWithCallInFlight(t);
  host.child.kill('SIGINT');
  await host.waitFor(/"msg":"stopping: draining/);

  const refused = await cli(dir, ['plugins', 'call', 'hold', 'ping']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^plugvisor: PLUGVISOR_HOST_STOPPING: the host \(pid \d+\) is stopping: it takes no new requests \(call was not run\)\n$/);
  assert.equal(call.child.exitCode, null, 'the call in flight is still waiting for its answer');

  release();
  assert.equal(await exitCode(call, 20_000, 'the CLI call'), 0, call.stderr);
  assert.deepEqual(JSON.parse(call.stdout), { released: true });
  assert.equal(await exitCode(host, 20_000, 'the host'), 0, host.stderr);
  assert.ok(!existsSync(join(dir, '.plugvisor', 'run', 'control.sock')), 'the socket is removed');
});

test('a call still running after reload.timeout is ended by the stop and answered with its error, not a closed connection', async (t) => {
  const { host, call } = await hostWithCallInFlight(t, { reload: { timeout: 1 } });
  host.child.kill('SIGTERM');
  assert.equal(await exitCode(host, 20_000, 'the host'), 0, host.stderr);
  assert.equal(await exitCode(call, 20_000, 'the CLI call'), 1);
  assert.match(call.stderr, /^plugvisor: PLUGVISOR_PLUGIN_STOPPED: plugin "hold" was stopped while call \w+ was running/, 'answered by the plugin\'s stop, not cut off by the host');
  assert.match(host.stdout, /"requests":1,"timeoutMs":1000,"msg":"control requests still running after reload.timeout: stopping the plugins under them"/);
});

for (const [second, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`a second signal (${second}) exits at once with ${code}, saying the calls in flight were abandoned`, async (t) => {
    const { dir, host, call } = await hostWithCallInFlight(t);
    host.child.kill('SIGINT');
    await host.waitFor(/"msg":"stopping: draining the requests and calls in flight \(a second Ctrl-C or SIGTERM forces the exit\)"/);
    host.child.kill(second);
    // reload.timeout is 30 s here: an exit within 10 s is the second signal's doing.
    assert.equal(await exitCode(host, 10_000, 'the host'), code);
    assert.match(host.stdout, new RegExp(`"signal":"${second}","calls":1,"requests":1,"msg":"second signal: exiting now; calls in flight were abandoned"`));
    assert.ok(!existsSync(join(dir, '.plugvisor', 'run', 'control.sock')), 'the socket is removed');
    assert.ok(!existsSync(join(dir, '.plugvisor', 'run', 'host.json')), 'host.json is removed');
    assert.equal(await exitCode(call, 10_000, 'the CLI call'), 1);
    assert.match(call.stderr, /^plugvisor: PLUGVISOR_HOST_NOT_RUNNING: the host closed the control connection .* before it answered; did it stop\? A request in flight may have run\n$/);
  });
}

test('an HTTP call still running after reload.timeout does not hold the stop: it is answered with the error of the call the stop ended', async (t) => {
  const dir = createProject('plugvisor-cli-stop-http-', { hold }, { reload: { timeout: 1 } });
  const host = await startHost(dir, ['dev', 'server', '--port', '0']);
  t.after(async () => {
    await host.stop('SIGKILL');
    removeProject(dir);
  });
  const url = (await host.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/))[1]!;
  const answer = fetch(`${url}/api/plugins/hold/commands/hold`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ args: [join(dir, 'never-released')] }),
  });
  await host.waitFor(/"msg":"hold: call started"/);
  host.child.kill('SIGTERM');
  // The call's own bound (callTimeoutMs) is 30 s: an exit within 20 s is reload.timeout's doing.
  assert.equal(await exitCode(host, 20_000, 'the host'), 0, host.stderr);
  const res = await answer;
  assert.equal(res.status, 503);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'PLUGVISOR_PLUGIN_STOPPED');
  assert.match(host.stdout, /"timeoutMs":1000,"msg":"HTTP requests still running after reload.timeout: stopping the plugins under them"/);
});

const slowStart = {
  'package.json': { name: 'slow-start', version: '1.0.0', type: 'module', main: 'index.js' },
  'index.js': `import { existsSync } from 'node:fs';
import { join } from 'node:path';
export default {
  async setup(ctx) {
    ctx.log.info('slow-start: setup started');
    while (!existsSync(join(process.cwd(), 'release'))) await new Promise((resolve) => setTimeout(resolve, 20));
  },
  commands: { ping: () => 'pong' },
};
`,
};

test('a CLI call that reaches a host still starting waits for its plugins to load instead of failing; status answers meanwhile', async (t) => {
  const dir = createProject('plugvisor-cli-starting-', { 'slow-start': slowStart });
  const host = new CliProcess(dir, ['start']);
  let call: CliProcess | undefined;
  t.after(async () => {
    await call?.stop('SIGKILL');
    await host.stop('SIGKILL');
    removeProject(dir);
  });
  await host.waitFor(/"msg":"slow-start: setup started"/);
  const status = await cli(dir, ['plugins', 'status', '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(JSON.parse(status.stdout).host.starting, true);

  call = new CliProcess(dir, ['plugins', 'call', 'slow-start', 'ping', '--json']);
  await host.waitFor(/"msg":"control request waits for the supervisor to finish starting/);
  assert.equal(call.child.exitCode, null, 'the call waits for the start');
  writeFileSync(join(dir, 'release'), '');
  assert.equal(await exitCode(call, 20_000, 'the CLI call'), 0, call.stderr);
  assert.equal(JSON.parse(call.stdout), 'pong');
  await host.waitFor(/"msg":"plugvisor started"/);
  assert.equal((await cliJson(dir, ['plugins', 'status'])).host.starting, false);
});

/** A host running `plugins profile hold --runs 100`, its first reload done; all ended when the test ends. */
async function hostProfiling(t: TestContext): Promise<{ host: CliProcess; profile: CliProcess }> {
  const dir = createProject('plugvisor-cli-stop-profile-', { hold });
  const host = await startHost(dir);
  const profile = new CliProcess(dir, ['plugins', 'profile', 'hold', '--runs', '100']);
  t.after(async () => {
    await profile.stop('SIGKILL');
    await host.stop('SIGKILL');
    removeProject(dir);
  });
  await host.waitFor(/"msg":"plugin reloaded"/);
  return { host, profile };
}

test('Ctrl-C on `plugins profile --runs N` stops the reloads: the host does not go on with the runs left', async (t) => {
  const { host, profile } = await hostProfiling(t);
  await profile.stop('SIGINT');
  // The stop waits for the control requests in flight: the profile request ends after the reload
  // that was running when its client left, not after all 100.
  host.child.kill('SIGTERM');
  assert.equal(await exitCode(host, 20_000, 'the host'), 0, host.stderr);
  const reloads = host.stdout.match(/"msg":"plugin reloaded"/g)?.length ?? 0;
  assert.ok(reloads <= 3, `${reloads} reloads ran after the client left`);
});

test('a host that stops during `plugins profile --runs N` answers with the runs done, and the CLI says the profile was cut short', async (t) => {
  const { host, profile } = await hostProfiling(t);
  host.child.kill('SIGTERM');
  assert.equal(await exitCode(profile, 20_000, 'the profile'), 1, profile.stderr);
  // Waited for: 'exit' can come before the last of the output is read.
  await profile.waitFor(/^hold: \d+ reloads? /m, 10_000);
  await profile.waitFor(/^plugvisor: PLUGVISOR_HOST_STOPPING: profile of hold cut short after \d+ of 100 runs: the host is stopping$/m, 10_000, 'stderr');
  assert.equal(await exitCode(host, 20_000, 'the host'), 0, host.stderr);
});
