/**
 * Crash isolation (issue #2): a plugin that throws, loops, hangs, exits, runs out of memory or dies of
 * an uncaught error fails its own calls with a typed error, is replaced when (and only when) its worker
 * is gone, and never disturbs another plugin of the same supervisor.
 */
import { strict as assert } from 'node:assert';
import { test, type TestContext } from 'node:test';
import type { Supervisor, SupervisorEventMap } from 'plugvisor';
import { assertError, rejectionOf } from './expect.js';
import { pino } from 'pino';
import { nextEvent, startSupervisor, tempDir, writePlugin } from './helpers.js';

type CrashEvent = SupervisorEventMap['crash'][0];

/** Every crash event of the supervisor, as they come. */
function recordCrashes(sup: Supervisor): CrashEvent[] {
  const crashes: CrashEvent[] = [];
  sup.on('crash', (event) => crashes.push(event));
  return crashes;
}

test('a thrown error keeps its name, message, stack, code and own fields; the plugin keeps serving', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('test/fixtures/throws-with-code');
  const crashes = recordCrashes(sup);

  const err = await rejectionOf(sup.call('throws-with-code', 'throwWithCode', 3));
  assert.equal(err.name, 'QuotaError');
  assert.equal(err.message, 'quota of 3 exceeded');
  assert.equal(err.code, 'E_QUOTA');
  assert.equal(err['limit'], 3);
  assert.deepEqual(err['details'], { used: 4, tags: ['a', 'b'] });
  assert.match(err.stack ?? '', /QuotaError: quota of 3 exceeded/);
  // The stack is the plugin's own, pointing at its source.
  assert.match(err.stack ?? '', /throws-with-code[\\/]index\.ts:\d+/);

  assert.equal(await sup.call('throws-with-code', 'calls'), 2);
  assert.equal(sup.info('throws-with-code').status, 'serving');
  assert.deepEqual(crashes, []);
});

test('a rejection without a code gets PLUGVISOR_COMMAND_FAILED and keeps name, message and stack', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('test/fixtures/throws-with-code');

  const err = await rejectionOf(sup.call('throws-with-code', 'rejectWithoutCode'));
  assert.equal(err.code, 'PLUGVISOR_COMMAND_FAILED');
  assert.equal(err.name, 'TypeError');
  assert.equal(err.message, 'no code here');
  assert.match(err.stack ?? '', /TypeError: no code here/);

  // A thrown non-Error still arrives as an Error with a code.
  const thrown = await rejectionOf(sup.call('throws-with-code', 'throwString'));
  assert.equal(thrown.code, 'PLUGVISOR_COMMAND_FAILED');
  assert.match(thrown.message, /a bare string/);

  // A thrown plain object keeps its message, code and fields.
  const plain = await rejectionOf(sup.call('throws-with-code', 'throwObject'));
  assert.ok(plain instanceof Error);
  assert.equal(plain.code, 'E_PLAIN');
  assert.equal(plain.message, 'a plain object');
  assert.equal(plain['retryable'], true);
  // The cause crosses too, and the plugin's own fields win over the host's additions.
  const caused = await rejectionOf(sup.call('throws-with-code', 'throwWithCause'));
  assert.equal((caused.cause as Error | undefined)?.message, 'inner');
  assert.equal((caused.cause as { code?: string } | undefined)?.code, 'E_INNER');
  // A field that cannot be read is left out; the error still arrives and the worker lives on.
  const unreadable = await rejectionOf(sup.call('throws-with-code', 'throwUnreadable'));
  assert.equal(unreadable.message, 'has a getter that throws');
  const badName = await rejectionOf(sup.call('throws-with-code', 'throwBadName'));
  assert.equal(badName.message, 'bad name');
  assert.equal(badName.code, 'E_NAME');
  assert.equal((badName.cause as { code?: string } | undefined)?.code, 'E_ASSIGNED');
  assert.equal(caused['command'], 'its own command field');
  assert.equal(caused['plugin'], 'throws-with-code');

  // The worker was never replaced: its state saw all three calls.
  assert.equal(await sup.call('throws-with-code', 'calls'), 3);
  const info = sup.info('throws-with-code');
  assert.equal(info.generation, 1);
  assert.equal(info.stats.restarts, 0);
  assert.equal(info.stats.errors, 6);
});

test('an infinite loop times out, then the unresponsive worker is replaced and the plugin serves again', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('test/fixtures/loops-forever');
  const firstThread = await sup.call('loops-forever', 'whoami');
  const crashed = nextEvent(sup, 'crash', 'loops-forever');
  const restarted = nextEvent(sup, 'restart', 'loops-forever');

  assertError(await rejectionOf(sup.call('loops-forever', 'spin')), 'PLUGVISOR_CALL_TIMEOUT', 'loops-forever', 'spin');
  // Sent after the timeout, to the spinning worker: it fails when that worker is killed.
  const stuck = await rejectionOf(sup.call('loops-forever', 'whoami'));
  assertError(stuck, 'PLUGVISOR_PLUGIN_CRASHED', 'loops-forever');
  assert.equal(stuck['reason'], 'unresponsive');

  const crash = await crashed;
  assert.equal(crash.reason, 'unresponsive');
  assert.equal(crash.generation, 1);
  assert.equal(crash.failedCalls, 1);
  const restart = await restarted;
  assert.equal(restart.generation, 2);

  const secondThread = await sup.call('loops-forever', 'whoami');
  assert.notEqual(secondThread, firstThread);
  const info = sup.info('loops-forever');
  assert.equal(info.status, 'serving');
  assert.equal(info.generation, 2);
  assert.equal(info.stats.timeouts, 1);
  assert.equal(info.stats.restarts, 1);
});

test('a never-settling promise times out without restarting a worker that still answers', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('test/fixtures/never-settles');
  const crashes = recordCrashes(sup);
  const thread = await sup.call('never-settles', 'whoami');

  const errors = await Promise.all([1, 2, 3].map(() => rejectionOf(sup.call('never-settles', 'hang'))));
  for (const err of errors) assertError(err, 'PLUGVISOR_CALL_TIMEOUT', 'never-settles', 'hang');

  // Sent after the timeouts, so answered after the liveness ping: had the ping failed, this call
  // would have failed with the worker.
  assert.equal(await sup.call('never-settles', 'whoami'), thread);
  assert.equal(await sup.call('never-settles', 'hung'), 3);
  const info = sup.info('never-settles');
  assert.equal(info.generation, 1);
  assert.equal(info.status, 'serving');
  assert.equal(info.stats.timeouts, 3);
  assert.equal(info.stats.restarts, 0);
  assert.deepEqual(crashes, []);
});

/**
 * `command` kills the worker of `plugin` (loaded from test/fixtures/<plugin>); meanwhile the counter
 * plugin of the same supervisor is called before, during (alongside the fatal call, and from the
 * crash listener, while the plugin is down) and after, and answers every call in order.
 */
async function crashBesideANeighbour(t: TestContext, plugin: string, command: string, args: unknown[], reason: string): Promise<void> {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  await sup.load(`test/fixtures/${plugin}`);
  const increment = (): Promise<number> => sup.call('counter', 'increment', 1);
  assert.equal(await increment(), 1);

  const neighbour: Array<Promise<number>> = [];
  sup.on('crash', (event) => {
    if (event.plugin === plugin) neighbour.push(increment());
  });
  const crashed = nextEvent(sup, 'crash', plugin);
  const restarted = nextEvent(sup, 'restart', plugin);

  const fatal = rejectionOf(sup.call(plugin, command, ...args));
  neighbour.push(increment(), increment());
  const err = await fatal;
  assertError(err, 'PLUGVISOR_PLUGIN_CRASHED', `"${plugin}"`, command);
  assert.equal(err['reason'], reason);
  assert.equal(err['plugin'], plugin);

  const crash = await crashed;
  assert.equal(crash.reason, reason);
  assert.equal(crash.generation, 1);
  assert.ok(crash.failedCalls >= 1);
  const restart = await restarted;
  assert.equal(restart.generation, 2);
  assert.equal(restart.attempt, 1);
  assert.equal(restart.delayMs, 0);

  assert.deepEqual(await Promise.all(neighbour), [2, 3, 4]);
  assert.equal(await increment(), 5);
  const counter = sup.info('counter');
  assert.equal(counter.generation, 1);
  assert.equal(counter.stats.errors, 0);

  const info = sup.info(plugin);
  assert.equal(info.status, 'serving');
  assert.equal(info.generation, 2);
  assert.equal(info.stats.restarts, 1);
}

test('process.exit() mid-call fails the call (reason exit), restarts the plugin, spares its neighbour', async (t) => {
  await crashBesideANeighbour(t, 'exits-mid-call', 'exit', [3], 'exit');
});

test('running out of memory fails the call (reason oom), restarts the plugin, spares its neighbour', async (t) => {
  await crashBesideANeighbour(t, 'oom', 'leak', [], 'oom');
});

test('an uncaught error in a timer fails the call (reason uncaught), restarts the plugin, spares its neighbour', async (t) => {
  await crashBesideANeighbour(t, 'uncaught-in-timer', 'boom', ['kaboom from a timer'], 'uncaught');
});

test('every call in flight on a dying worker fails with PLUGVISOR_PLUGIN_CRASHED, then the plugin serves again', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('test/fixtures/exits-mid-call');
  const crashed = nextEvent(sup, 'crash', 'exits-mid-call');
  const restarted = nextEvent(sup, 'restart', 'exits-mid-call');

  const held = rejectionOf(sup.call('exits-mid-call', 'wait', 60_000));
  const exit = rejectionOf(sup.call('exits-mid-call', 'exit', 7));
  const queuedBehind = rejectionOf(sup.call('exits-mid-call', 'get'));
  for (const err of await Promise.all([held, exit, queuedBehind])) {
    assertError(err, 'PLUGVISOR_PLUGIN_CRASHED', 'exits-mid-call');
    assert.equal(err['reason'], 'exit');
  }
  assert.equal((await exit)['exitCode'], 7);
  assert.equal((await crashed).failedCalls, 3);
  await restarted;
  assert.equal(await sup.call('exits-mid-call', 'increment'), 1);
});

test('a late reply is dropped and counted; the next call gets its own answer', async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('test/fixtures/busy-wait');
  const crashes = recordCrashes(sup);

  // Blocks 1500 ms: 500 ms past callTimeoutMs (1000), well within callTimeoutMs + pingTimeoutMs (6000).
  assertError(await rejectionOf(sup.call('busy-wait', 'block', 1500, 'late')), 'PLUGVISOR_CALL_TIMEOUT', 'busy-wait', 'block');
  // Sent when the block timed out, so answered ~500 ms later, 500 ms before its own deadline; it
  // travels behind the late reply on the same port: when it is answered, the late reply was handled.
  assert.equal(await sup.call('busy-wait', 'echo', 'next'), 'next');
  assert.deepEqual(await sup.call('busy-wait', 'echo', { n: 2 }), { n: 2 });

  const info = sup.info('busy-wait');
  assert.equal(info.stats.lateReplies, 1);
  assert.equal(info.stats.timeouts, 1);
  assert.equal(info.stats.pending, 0);
  assert.equal(info.generation, 1);
  assert.deepEqual(crashes, []);
});

test('messages a plugin posts on parentPort itself are dropped with one warning; the host and the plugin carry on', async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const sup = await startSupervisor(t, { root: tempDir(t), logger });
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'chatty', version: '1.0.0', type: 'module', main: 'index.js' },
    'index.js': `import { parentPort } from 'node:worker_threads';
export default {
  commands: {
    chat() {
      const cyclic = { t: 'mine' };
      cyclic.self = cyclic;
      for (const m of [{ t: 'hello' }, null, 'text', 42, { t: 'batch' }, { t: 'ok' }, { t: 'res', id: 'x' }, cyclic]) parentPort.postMessage(m);
      return 'posted';
    },
    echo: (ctx, v) => v,
  },
};`,
  });
  await sup.load(dir);
  const crashes = recordCrashes(sup);
  assert.equal(await sup.call('chatty', 'chat'), 'posted');
  assert.equal(await sup.call('chatty', 'chat'), 'posted');
  assert.equal(await sup.call('chatty', 'echo', 'still here'), 'still here');
  assert.deepEqual(crashes, []);
  assert.equal(sup.info('chatty').generation, 1);
  const warnings = lines.map((l) => JSON.parse(l) as { plugin?: string; msg: string }).filter((l) => l.plugin === 'chatty');
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.match(warnings[0]!.msg, /parentPort: dropped/);
});

test('messages a plugin posts on parentPort while its module loads, shaped like plugvisor\'s or not, are dropped; it loads and serves', async (t) => {
  const sup = await startSupervisor(t, { root: tempDir(t) });
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'early', version: '1.0.0', type: 'module', main: 'index.js' },
    'index.js': `import { parentPort } from 'node:worker_threads';
for (const m of [null, { hello: 1 }, { t: 'load-failed' }, { t: 'load-failed', e: { message: 'forged' } }, { t: 'loaded' }, { t: 'loaded', shape: 'none' }]) parentPort.postMessage(m);
export default { commands: { echo: (ctx, v) => v } };`,
  });
  await sup.load(dir);
  assert.equal(await sup.call('early', 'echo', 'loaded'), 'loaded');
  assert.equal((await sup.reload('early', { force: true })).ok, true);
  assert.equal(await sup.call('early', 'echo', 'reloaded'), 'reloaded');
});

test('replies a plugin forges on parentPort with an unreadable error are dropped: its calls, health() and stop() are still answered', { timeout: 20_000 }, async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const sup = await startSupervisor(t, { root: tempDir(t), logger });
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'forger', version: '1.0.0', type: 'module', main: 'index.js' },
    'index.js': `import { parentPort, workerData } from 'node:worker_threads';
const forged = new Set();
// Shaped like the first answer to a call and to a request plugvisor waits for, with an error it cannot read (e: null).
const forge = (m) => {
  if (m?.t === 'batch') for (const one of m.m) forge(one);
  if (forged.has(m?.t)) return;
  forged.add(m?.t);
  if (m?.t === 'call') parentPort.postMessage({ t: 'err', id: m.id, g: workerData.generation, e: null });
  if (m?.t === 'req') parentPort.postMessage({ t: 'res', id: m.id, ok: false, e: null });
};
export default {
  commands: { arm() { parentPort.on('message', forge); return 'armed'; }, echo: (ctx, v) => v },
  health: () => ({ ok: true }),
};`,
  });
  await sup.load(dir);
  assert.equal(await sup.call('forger', 'arm'), 'armed');
  assert.equal(await sup.call('forger', 'echo', 'answered'), 'answered');
  assert.deepEqual(await sup.health('forger'), { ok: true });
  await sup.stop();
  assert.equal(lines.filter((l) => /parentPort: dropped/.test(l)).length, 1);
});

test('odd results (a thenable that calls back twice or throws, a revoked proxy) fail only their call; the worker lives and reloads', async (t) => {
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'odd-results', version: '1.0.0', type: 'module', main: 'index.js' },
    'index.js': `
      const revoked = Proxy.revocable({}, {});
      revoked.revoke();
      export default {
        state: () => ({ calls: 0 }),
        commands: {
          twice: (ctx) => ({ then(resolve, reject) { ctx.state.calls++; resolve(1); resolve(2); reject(new Error('late')); } }),
          thenThrows: () => ({ then() { throw new Error('then threw'); } }),
          thenGetter: () => ({ get then() { throw new Error('then getter threw'); } }),
          revoked: () => revoked.proxy,
          calls: (ctx) => ctx.state.calls,
        },
      };
    `,
  });
  // A reload that cannot detach fails within this bound instead of the default 30 s.
  const sup = await startSupervisor(t, { config: { log_level: 'silent', reload: { timeout: 5 } } });
  await sup.load(dir);
  const crashes = recordCrashes(sup);

  assert.equal(await sup.call('odd-results', 'twice'), 1);
  assertError(await rejectionOf(sup.call('odd-results', 'thenThrows')), 'PLUGVISOR_COMMAND_FAILED', 'then threw');
  assertError(await rejectionOf(sup.call('odd-results', 'thenGetter')), 'PLUGVISOR_RESULT_NOT_CLONEABLE', 'then getter threw');
  assertError(await rejectionOf(sup.call('odd-results', 'revoked')), 'PLUGVISOR_RESULT_NOT_CLONEABLE', 'revoked');
  assert.equal(await sup.call('odd-results', 'calls'), 1);
  assert.deepEqual(crashes, []);
  assert.equal(sup.info('odd-results').generation, 1);

  // The thenable settled its call once: no command counts as running, so the worker detaches.
  const result = await sup.reload('odd-results');
  assert.equal(result.ok, true, result.error?.message);
  assert.equal(await sup.call('odd-results', 'calls'), 1);
});

test('a health() report that cannot be cloned is reported unhealthy; the worker keeps serving with its state', async (t) => {
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'odd-health', version: '1.0.0', type: 'module', main: 'index.js' },
    'index.js': `export default {
      state: () => ({ n: 0 }),
      health: () => ({ ok: true, db: { query: () => 1 } }),
      commands: { inc: (ctx) => ++ctx.state.n },
    };`,
  });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  const crashes = recordCrashes(sup);
  assert.equal(await sup.call('odd-health', 'inc'), 1);
  const report = await sup.health('odd-health');
  assert.equal(report?.ok, false);
  assert.match(String(report?.['reason']), /cannot be cloned/);
  assert.equal(await sup.call('odd-health', 'inc'), 2);
  assert.deepEqual(crashes, []);
  assert.equal(sup.info('odd-health').generation, 1);
});

test('a worker or pool thread dying of `throw null` or `throw undefined` fails its call (reason uncaught); the host lives on', async (t) => {
  const source = `export default { commands: {
    ok: () => 'ok',
    throwLater: (_ctx, value) => { setTimeout(() => { throw value; }, 1); return new Promise(() => {}); },
  } };`;
  const single = writePlugin(tempDir(t), { 'package.json': { name: 'throws-null', version: '1.0.0', type: 'module', main: 'index.js' }, 'index.js': source });
  const pooled = writePlugin(tempDir(t), {
    'package.json': { name: 'pool-throws-null', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { pool: { maxThreads: 1 } } },
    'index.js': source,
  });
  const sup = await startSupervisor(t);
  await sup.load(single);
  await sup.load(pooled);
  for (const plugin of ['throws-null', 'pool-throws-null']) {
    for (const value of [null, undefined]) {
      const crashed = nextEvent(sup, 'crash', plugin);
      const restarted = nextEvent(sup, 'restart', plugin);
      const err = await rejectionOf(sup.call(plugin, 'throwLater', value));
      assertError(err, 'PLUGVISOR_PLUGIN_CRASHED', `non-error thrown: ${String(value)}`);
      assert.equal(err['reason'], 'uncaught');
      assert.equal((await crashed).reason, 'uncaught');
      await restarted;
      assert.equal(await sup.call(plugin, 'ok'), 'ok');
    }
  }
});

test('a call answered just before its worker dies of an uncaught error keeps its answer', async (t) => {
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'answers-then-dies', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { restart: { maxRestarts: 100, windowSeconds: 60, backoffInitialMs: 0 } } },
    // The reply is posted before the timer's throw ends the thread.
    'index.js': 'export default { commands: { last: () => { queueMicrotask(() => queueMicrotask(() => { throw new Error("right after"); })); return "answered"; } } };',
  });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  for (let i = 0; i < 20; i++) {
    const restarted = nextEvent(sup, 'restart', 'answers-then-dies');
    // The uncaught error travels on a port of its own and can overtake the reply: failing the call
    // as crashed then would report an answered call as lost.
    assert.equal(await sup.call('answers-then-dies', 'last'), 'answered');
    await restarted;
  }
});

test("a dependency that loops forever on a dependent's call is replaced, as when the host called it", async (t) => {
  const sup = await startSupervisor(t);
  const root = tempDir(t);
  const store = writePlugin(`${root}/spinning-store`, {
    'package.json': { name: 'spinning-store', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { limits: { callTimeoutMs: 300, pingTimeoutMs: 200 } } },
    'index.js': 'export default { state: () => ({ n: 0 }), commands: { inc: (ctx) => ++ctx.state.n, spin() { for (;;); } } };\n',
  });
  const app = writePlugin(`${root}/store-user`, {
    'package.json': { name: 'store-user', version: '1.0.0', type: 'module', main: 'index.js', plugvisor: { dependsOn: { 'spinning-store': '^1.0.0' } } },
    'index.js': 'export default { commands: { inc: (ctx) => ctx.plugins["spinning-store"].inc(), spin: (ctx) => ctx.plugins["spinning-store"].spin() } };\n',
  });
  await sup.load(store);
  await sup.load(app);
  const crashed = nextEvent(sup, 'crash', 'spinning-store');
  const restarted = nextEvent(sup, 'restart', 'spinning-store');
  // Only the dependent's worker sees this call time out: the host never does.
  const err = await rejectionOf(sup.call('store-user', 'spin'));
  assert.equal(err.code, 'PLUGVISOR_CALL_TIMEOUT');
  assert.equal((await crashed).reason, 'unresponsive');
  assert.equal((await restarted).generation, 2);
  assert.equal(await sup.call('store-user', 'inc'), 1);
});

test('an event listener that throws changes nothing: the load resolves, the crashed plugin restarts and answers; the error is logged', async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
  const sup = await startSupervisor(t, { logger });
  for (const event of ['load', 'crash'] as const) sup.on(event, () => { throw new Error(`${event} listener fails`); });
  const restarted = nextEvent(sup, 'restart', 'exits-mid-call');
  assert.equal((await sup.load('test/fixtures/exits-mid-call')).status, 'serving');
  assertError(await rejectionOf(sup.call('exits-mid-call', 'exit', 1)), 'PLUGVISOR_PLUGIN_CRASHED');
  await restarted;
  assert.equal(await sup.call('exits-mid-call', 'increment'), 1);
  const logged = lines.map((line) => JSON.parse(line) as { msg: string; plugin?: string });
  assert.deepEqual(logged.filter((l) => l.msg.includes('listener threw')).map((l) => [l.msg, l.plugin]), [
    ['a "load" event listener threw', 'exits-mid-call'],
    ['a "crash" event listener threw', 'exits-mid-call'],
  ]);
});
