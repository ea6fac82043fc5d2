/**
 * The HTTP dev server against a real Supervisor and real plugin workers, over real sockets
 * (port 0): every route of CONTRACT section 5, the error answers, the local-only rule, the event
 * stream and the metrics.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Supervisor } from 'plugvisor';
import { createDevServer, type DevServer } from '../src/http/dev-server.js';
import { readiness } from '../src/http/readiness.js';
import { fixture, heldSetupPlugin, REPO_ROOT, startSupervisor, tempDir, writePlugin } from './helpers.js';
import { writeVersioned } from './reload-helpers.js';

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  json: any;
}

/** One HTTP request with full control of its headers (fetch will not let a test forge Host). */
function send(server: DevServer, method: string, path: string, options: { body?: string | object; headers?: Record<string, string>; freshConnection?: boolean } = {}): Promise<Answer> {
  const body = typeof options.body === 'object' ? JSON.stringify(options.body) : options.body;
  const headers: Record<string, string> = { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server.url}${path}`, { method, headers, ...(options.freshConnection ? { agent: false } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function assertError(answer: Answer, status: number, code: string): void {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.json?.error?.code, code, answer.text);
  assert.equal(typeof answer.json.error.message, 'string');
}

async function startServer(t: TestContext, sup: Supervisor): Promise<DevServer> {
  const server = await createDevServer(sup, { port: 0 });
  t.after(() => server.close());
  return server;
}

/** The events of a server-sent stream, parsed as they arrive. */
function openEvents(server: DevServer): Promise<{ events: Array<{ event: string; data: any }>; next(event: string, plugin: string): Promise<any>; ended: Promise<void>; response: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server.url}/api/events`, { headers: { accept: 'text/event-stream' } }, (res) => {
      const events: Array<{ event: string; data: any }> = [];
      const waiters: Array<() => void> = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
        for (const w of waiters.splice(0)) w();
      });
      const ended = new Promise<void>((done) => res.on('end', done));
      const next = (event: string, plugin: string): Promise<any> => new Promise((done) => {
        const check = (): void => {
          const found = events.find((e) => e.event === event && e.data.plugin === plugin);
          if (found) done(found.data);
          else waiters.push(check);
        };
        check();
      });
      resolve({ events, next, ended, response: res });
    });
    req.on('error', reject);
    req.end();
  });
}

test('dev server: the contract routes against a real supervisor', { timeout: 30_000 }, async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0', hooks: 'health(ctx) { return { ok: true, count: ctx.state.count }; },' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  await sup.load(fixture('throws-with-code'));
  const server = await startServer(t, sup);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);

  await t.test('GET /api/plugins lists the plugins', async () => {
    const r = await send(server, 'GET', '/api/plugins');
    assert.equal(r.status, 200);
    const versioned = r.json.find((p: { name: string }) => p.name === 'versioned');
    assert.deepEqual(Object.keys(versioned).sort(), ['activation', 'lastLoaded', 'name', 'pooled', 'reloadCount', 'status', 'version']);
    assert.equal(versioned.version, '1.0.0');
    assert.equal(versioned.status, 'serving');
    assert.equal(versioned.reloadCount, 0);
    assert.ok(!Number.isNaN(Date.parse(versioned.lastLoaded)));
  });

  await t.test('POST /api/plugins/:name/commands/:cmd calls the command', async () => {
    const r = await send(server, 'POST', '/api/plugins/versioned/commands/inc', { body: { args: ['http', 1] } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { result: { version: '1.0.0', count: 1 } });
    const none = await send(server, 'POST', '/api/plugins/versioned/commands/get', { body: { args: [] } });
    assert.deepEqual(none.json, { result: { version: '1.0.0', count: 1 } });
    // No arguments may also be said with no body, an empty object, or a JSON content type and nothing.
    for (const options of [{}, { body: {} }, { body: '', headers: { 'content-type': 'application/json' } }]) {
      const bare = await send(server, 'POST', '/api/plugins/versioned/commands/get', options);
      assert.equal(bare.status, 200, bare.text);
      assert.deepEqual(bare.json, { result: { version: '1.0.0', count: 1 } });
    }
  });

  await t.test('GET /api/plugins/:name/status includes health and commands', async () => {
    const r = await send(server, 'GET', '/api/plugins/versioned/status');
    assert.equal(r.status, 200);
    for (const key of ['name', 'version', 'status', 'health', 'commands', 'lastLoaded', 'reloadCount']) assert.ok(key in r.json, key);
    assert.deepEqual(r.json.health, { ok: true, count: 1 });
    assert.ok(r.json.commands.includes('inc'));
  });

  await t.test("a plugin's own error keeps its code (500, or its statusCode)", async () => {
    const coded = await send(server, 'POST', '/api/plugins/throws-with-code/commands/throwWithCode', { body: { args: [3] } });
    assertError(coded, 500, 'E_QUOTA');
    assert.equal(coded.json.error.name, 'QuotaError');
    assert.equal(coded.json.error.message, 'quota of 3 exceeded');
    assert.equal(coded.json.error.plugin, 'throws-with-code');
    assert.equal(coded.text.includes('at '), false, 'no stack trace in the answer');
    const uncoded = await send(server, 'POST', '/api/plugins/throws-with-code/commands/rejectWithoutCode', { body: { args: [] } });
    assertError(uncoded, 500, 'PLUGVISOR_COMMAND_FAILED');
    assert.equal(uncoded.json.error.name, 'TypeError');
  });

  await t.test('POST /api/plugins/:name/reload returns the reload result; a failed one too (200, ok: false, code and step)', async () => {
    writeVersioned(dir, { version: '1.1.0' });
    const r = await send(server, 'POST', '/api/plugins/versioned/reload');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.fromVersion, '1.0.0');
    assert.equal(r.json.toVersion, '1.1.0');
    assert.equal(r.json.rolledBack, false);
    assert.ok(r.json.durationMs >= r.json.pauseMs);
    assert.equal(typeof r.json.phases.drain, 'number');

    writeFileSync(join(dir, 'index.ts'), 'export default {{ not javascript');
    const failed = await send(server, 'POST', '/api/plugins/versioned/reload', { body: { force: true } });
    assert.equal(failed.status, 200, failed.text);
    assert.equal(failed.json.ok, false);
    assert.equal(failed.json.error.code, 'PLUGVISOR_COMPILE_FAILED');
    assert.equal(failed.json.rolledBack, true);
    assert.equal(failed.json.error.step, 'compile');
    assert.match(failed.json.error.message, /index\.ts/);
    writeVersioned(dir, { version: '1.1.0' });
    const status = await send(server, 'GET', '/api/plugins/versioned/status');
    assert.equal(status.json.version, '1.1.0');
    assert.equal(status.json.reloadCount, 1);
  });

  await t.test('POST /api/plugins loads, DELETE unloads', async () => {
    const loaded = await send(server, 'POST', '/api/plugins', { body: { path: fixture('lazy-start') } });
    assert.equal(loaded.status, 200, loaded.text);
    assert.equal(loaded.json.name, 'lazy-start');
    assert.equal(loaded.json.activation, 'lazy');
    assert.equal(loaded.json.health, null, 'no worker yet, no health');
    const again = await send(server, 'POST', '/api/plugins', { body: { path: fixture('lazy-start') } });
    assertError(again, 409, 'PLUGVISOR_PLUGIN_EXISTS');
    const missing = await send(server, 'POST', '/api/plugins', { body: { path: 'test/fixtures/not-there' } });
    assertError(missing, 422, 'PLUGVISOR_MANIFEST_NOT_FOUND');
    const unpublished = await send(server, 'POST', '/api/plugins', { body: { fromPackage: 'plugvisor-no-such-package', version: '^1' } });
    assertError(unpublished, 422, 'PLUGVISOR_PACKAGE_NOT_FOUND');
    const outside = await send(server, 'POST', '/api/plugins', { body: { fromPackage: '../plugins/counter' } });
    assertError(outside, 400, 'PLUGVISOR_HTTP_BAD_REQUEST');

    const unloaded = await send(server, 'DELETE', '/api/plugins/lazy-start');
    assert.equal(unloaded.status, 200, unloaded.text);
    assert.deepEqual(unloaded.json, { name: 'lazy-start', version: '1.0.0', unloaded: true });
    assertError(await send(server, 'GET', '/api/plugins/lazy-start/status'), 404, 'PLUGVISOR_PLUGIN_NOT_FOUND');
  });

  await t.test('GET /api/plugins/:name/latency returns the recent calls', async () => {
    const r = await send(server, 'GET', '/api/plugins/versioned/latency');
    assert.equal(r.status, 200);
    assert.equal(r.json.plugin, 'versioned');
    assert.ok(r.json.count >= 2);
    assert.equal(typeof r.json.samples[0].ms, 'number');
    assert.equal(r.json.samples[0].command, 'inc');
  });

  await t.test('/metrics exposes call, reload and heap metrics in Prometheus text', async () => {
    for (let i = 0; i < 3; i++) await send(server, 'POST', '/api/plugins/versioned/commands/inc', { body: { args: [] } });
    const r = await send(server, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const m = r.text;
    assert.match(m, /^# TYPE plugvisor_call_duration_seconds histogram$/m);
    assert.match(m, /^plugvisor_call_duration_seconds_bucket\{le="0\.001",plugin="versioned",command="inc"\} \d+$/m);
    assert.match(m, /^plugvisor_call_duration_seconds_count\{plugin="versioned",command="inc"\} 4$/m);
    assert.match(m, /^plugvisor_calls_total\{plugin="versioned",command="inc"\} 4$/m);
    assert.match(m, /^plugvisor_call_errors_total\{plugin="throws-with-code",command="throwWithCode",code="E_QUOTA"\} 1$/m);
    assert.match(m, /^plugvisor_reloads_total\{plugin="versioned",result="ok"\} 1$/m);
    assert.match(m, /^plugvisor_reloads_total\{plugin="versioned",result="rolled_back"\} 1$/m);
    assert.match(m, /^plugvisor_reload_duration_seconds_count\{plugin="versioned"\} 1$/m);
    assert.match(m, /^plugvisor_reload_pause_seconds_count\{plugin="versioned"\} 1$/m);
    const heap = /^plugvisor_worker_heap_used_bytes\{plugin="versioned"\} (\d+)$/m.exec(m);
    assert.ok(heap !== null && Number(heap[1]) > 1_000_000, 'worker heap reported');
    assert.match(m, /^plugvisor_plugin_info\{plugin="versioned",version="1\.1\.0",status="serving"\} 1$/m);
  });

  await t.test('/healthz and /readyz', async () => {
    const live = await send(server, 'GET', '/healthz');
    assert.equal(live.status, 200);
    assert.deepEqual(live.json, { ok: true });
    const ready = await send(server, 'GET', '/readyz');
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.json.ready, true);
  });

  await t.test('GET / serves the dashboard, never framed', async () => {
    const r = await send(server, 'GET', '/');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.match(r.text, /<title>plugvisor dev server<\/title>/);
  });
});

test('dev server: bad requests get 4xx with a PLUGVISOR_* code; unknown plugins 404', { timeout: 30_000 }, async (t) => {
  const sup = await startSupervisor(t);
  await sup.load(writeVersioned(tempDir(t), { version: '1.0.0' }));
  const server = await startServer(t, sup);
  const call = '/api/plugins/versioned/commands/inc';

  assertError(await send(server, 'POST', call, { body: '{"args": [1,' }), 400, 'PLUGVISOR_HTTP_BAD_REQUEST');
  assertError(await send(server, 'POST', call, { body: { args: 5 } }), 400, 'PLUGVISOR_HTTP_BAD_REQUEST');
  assertError(await send(server, 'POST', call, { body: { args: [], extra: 1 } }), 400, 'PLUGVISOR_HTTP_BAD_REQUEST');
  assertError(await send(server, 'POST', call, { body: 'args=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'PLUGVISOR_HTTP_BAD_REQUEST');
  assertError(await send(server, 'POST', call, { body: '{"args":[1]}', headers: { 'content-type': 'text/plain' } }), 415, 'PLUGVISOR_HTTP_BAD_REQUEST');
  assertError(await send(server, 'GET', '/api/plugins/%ZZ/status'), 400, 'PLUGVISOR_HTTP_BAD_REQUEST');
  assertError(await send(server, 'POST', '/api/plugins/versioned/reload', { body: { force: 'yes' } }), 400, 'PLUGVISOR_HTTP_BAD_REQUEST');
  const load = await send(server, 'POST', '/api/plugins', { body: { path: 'a', fromPackage: 'b' } });
  assertError(load, 400, 'PLUGVISOR_HTTP_BAD_REQUEST');
  assert.match(load.json.error.message, /"path"/);
  // A version that is not a semver range is a bad request, as --version is for the CLI (not a missing package).
  const badRange = await send(server, 'POST', '/api/plugins', { body: { fromPackage: 'some-plugin', version: 'garbage!' } });
  assertError(badRange, 400, 'PLUGVISOR_HTTP_BAD_REQUEST');
  assert.match(badRange.json.error.message, /version "garbage!" is not a semver range/);

  const unknownCommand = await send(server, 'POST', '/api/plugins/versioned/commands/nope', { body: { args: [] } });
  assertError(unknownCommand, 404, 'PLUGVISOR_COMMAND_NOT_FOUND');
  assert.match(unknownCommand.json.error.message, /inc/, 'the message lists the commands');

  for (const [method, path] of [['GET', '/api/plugins/ghost/status'], ['POST', '/api/plugins/ghost/reload'], ['DELETE', '/api/plugins/ghost'], ['GET', '/api/plugins/ghost/latency']] as const) {
    const r = await send(server, method, path);
    assertError(r, 404, 'PLUGVISOR_PLUGIN_NOT_FOUND');
    assert.equal(r.json.error.plugin, 'ghost');
  }
  assertError(await send(server, 'POST', '/api/plugins/ghost/commands/x', { body: { args: [] } }), 404, 'PLUGVISOR_PLUGIN_NOT_FOUND');
  assertError(await send(server, 'GET', '/api/nothing-here'), 404, 'PLUGVISOR_HTTP_ROUTE_NOT_FOUND');
  assertError(await send(server, 'PUT', '/api/plugins'), 404, 'PLUGVISOR_HTTP_ROUTE_NOT_FOUND');
  // unknown names mint no metric series
  const metrics = await send(server, 'GET', '/metrics');
  assert.equal(metrics.text.includes('ghost'), false);
  assert.match(metrics.text, /plugvisor_calls_total\{plugin="versioned",command="_unknown"\} 1/);
});

test('dev server: command results JSON cannot hold as they are are written, cycles included, never failing a call that ran', { timeout: 30_000 }, async (t) => {
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'shapes', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': `export default { state: () => ({ calls: 0 }), commands: {
  tree(ctx) { ctx.state.calls++; const root = { name: 'root', children: [] }; const leaf = { name: 'leaf', parent: root }; root.children.push(leaf, leaf); return root; },
  selfMap() { const m = new Map(); m.set('me', m); m.set('n', 1n); return m; },
  calls(ctx) { return ctx.state.calls; },
} };\n`,
  });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  const server = await startServer(t, sup);

  const tree = await send(server, 'POST', '/api/plugins/shapes/commands/tree');
  assert.equal(tree.status, 200, tree.text);
  const leaf = { name: 'leaf', parent: '[Circular]' };
  assert.deepEqual(tree.json, { result: { name: 'root', children: [leaf, leaf] } }, 'a back-reference is "[Circular]"; a shared one is written twice');
  const selfMap = await send(server, 'POST', '/api/plugins/shapes/commands/selfMap');
  assert.equal(selfMap.status, 200, selfMap.text);
  assert.deepEqual(selfMap.json, { result: { me: '[Circular]', n: '1' } });
  assert.deepEqual((await send(server, 'POST', '/api/plugins/shapes/commands/calls')).json, { result: 1 });
});

test('dev server: requests whose Host or Origin is not local are refused (DNS rebinding)', { timeout: 30_000 }, async (t) => {
  const sup = await startSupervisor(t);
  const server = await startServer(t, sup);
  const port = server.port;
  const refused = async (headers: Record<string, string>, path = '/api/plugins'): Promise<void> => {
    assertError(await send(server, 'GET', path, { headers }), 403, 'PLUGVISOR_HTTP_NOT_LOCAL');
  };
  const allowed = async (headers: Record<string, string>): Promise<void> => {
    const r = await send(server, 'GET', '/api/plugins', { headers });
    assert.equal(r.status, 200, `${JSON.stringify(headers)}: ${r.text}`);
  };

  await refused({ host: `evil.example:${port}` });
  await refused({ host: 'evil.example' });
  await refused({ host: `127.0.0.1:${port + 1}` });
  await refused({ host: `127.0.0.1.evil.example:${port}` });
  await refused({ host: `evil.example:${port}` }, '/');
  await refused({ host: `evil.example:${port}` }, '/api/events');
  await refused({ origin: 'http://evil.example' });
  await refused({ origin: `http://evil.example:${port}` });
  await refused({ origin: `https://127.0.0.1:${port}` });
  await refused({ origin: 'null' });
  const post = await send(server, 'POST', '/api/plugins', { body: { path: fixture('lazy-start') }, headers: { origin: 'http://evil.example' } });
  assertError(post, 403, 'PLUGVISOR_HTTP_NOT_LOCAL');
  assert.equal(sup.list().length, 0, 'the refused request did nothing');

  await allowed({ host: `127.0.0.1:${port}` });
  await allowed({ host: `localhost:${port}` });
  await allowed({ host: `LOCALHOST:${port}` });
  await allowed({ host: `[::1]:${port}` });
  await allowed({ origin: `http://127.0.0.1:${port}` });
  await allowed({ origin: `http://localhost:${port}` });

  await assert.rejects(createDevServer(sup, { port: 0, host: '0.0.0.0' }), { code: 'PLUGVISOR_HTTP_NOT_LOCAL' });
  // A port in use fails the start with a typed error naming the address, and leaves nothing behind on the supervisor.
  const listeners = sup.listenerCount('reload');
  await assert.rejects(createDevServer(sup, { port }), (err: Error & { code?: string; port?: number; host?: string; cause?: { code?: string } }) => {
    assert.equal(err.code, 'PLUGVISOR_HTTP_PORT_IN_USE');
    assert.deepEqual([err.host, err.port, err.cause?.code], ['127.0.0.1', port, 'EADDRINUSE']);
    assert.match(err.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1 port ${port}: another process is listening there`));
    return true;
  });
  assert.equal(sup.listenerCount('reload'), listeners);
});

test('dev server: /api/events streams supervisor events; readiness follows eager plugins; close() ends streams and detaches', { timeout: 30_000 }, async (t) => {
  const sup = await startSupervisor(t);
  const listenersBefore = sup.eventNames().map((e) => [e, sup.listenerCount(e)]);
  const seen: string[] = [];
  t.after(sup.observeCalls((_plugin, command) => seen.push(command)));
  const dir = writeVersioned(tempDir(t), { version: '1.0.0' });
  const dying = writePlugin(tempDir(t), {
    'package.json': { name: 'dies', version: '1.0.0', type: 'module', main: 'index.ts', plugvisor: { restart: { maxRestarts: 0 } } },
    'index.ts': "export default { commands: { die() { process.exit(3); } } };",
  });
  const server = await createDevServer(sup, { port: 0 });
  t.after(() => server.close());
  const stream = await openEvents(server);
  assert.equal(stream.response.statusCode, 200);
  assert.match(String(stream.response.headers['content-type']), /^text\/event-stream/);

  await sup.load(dir);
  const load = await stream.next('load', 'versioned');
  assert.equal(load.version, '1.0.0');
  assert.equal(load.type, 'load');
  assert.ok(!Number.isNaN(Date.parse(load.time)));

  writeVersioned(dir, { version: '2.0.0' });
  const reloaded = await send(server, 'POST', '/api/plugins/versioned/reload');
  assert.equal(reloaded.status, 200, reloaded.text);
  const reload = await stream.next('reload', 'versioned');
  assert.equal(reload.fromVersion, '1.0.0');
  assert.equal(reload.toVersion, '2.0.0');
  assert.equal(typeof reload.pauseMs, 'number');

  // An eager plugin that is not serving makes the host not ready.
  await sup.load(dying);
  const crashed = await send(server, 'POST', '/api/plugins/dies/commands/die', { body: { args: [] } });
  assertError(crashed, 502, 'PLUGVISOR_PLUGIN_CRASHED');
  assert.equal(crashed.json.error.reason, 'exit');
  assert.equal((await stream.next('crash', 'dies')).reason, 'exit');
  assertError(await send(server, 'POST', '/api/plugins/dies/commands/die', { body: { args: [] } }), 503, 'PLUGVISOR_PLUGIN_FAILED');
  const notReady = await send(server, 'GET', '/readyz');
  assert.equal(notReady.status, 503, notReady.text);
  assert.equal(notReady.json.ready, false);
  assert.match(notReady.json.reasons[0], /^dies is failed/);
  assert.match((await send(server, 'GET', '/metrics')).text, /^plugvisor_crashes_total\{plugin="dies",reason="exit"\} 1$/m);

  await send(server, 'DELETE', '/api/plugins/dies');
  assert.equal((await stream.next('unload', 'dies')).version, '1.0.0');
  assert.equal((await send(server, 'GET', '/readyz')).status, 200);

  await server.close();
  await stream.ended; // close() ended the stream instead of waiting for the client
  await server.close(); // twice is fine
  assert.deepEqual(sup.eventNames().map((e) => [e, sup.listenerCount(e)]), listenersBefore, 'every listener removed');
  await sup.call('versioned', 'get');
  assert.deepEqual(seen.slice(-1), ['get'], "another call observer outlives the server's");
  await assert.rejects(send(server, 'GET', '/healthz', { freshConnection: true }), { code: 'ECONNREFUSED' });
});

test('/api/events: a client that stops reading is disconnected once it falls behind, instead of being buffered every event', { timeout: 30_000 }, async (t) => {
  const sup = await startSupervisor(t);
  const server = await startServer(t, sup);
  const socket = connect(server.port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
  await once(socket, 'data'); // the headers and the retry line: the stream is attached
  socket.pause();
  // Far more than the socket buffers hold while the client reads nothing.
  const big = 'x'.repeat(200_000);
  for (let i = 0; i < 200; i++) sup.emit('unload', { plugin: big, version: '1.0.0' });
  sup.emit('unload', { plugin: 'after-the-backlog', version: '1.0.0' });

  // Reading again, the client gets what was sent before it was dropped, then the end of the stream.
  let text = '';
  socket.setEncoding('utf8');
  const outcome = await new Promise<string>((resolve) => {
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('after-the-backlog')) resolve('kept: the next event was buffered for it');
    });
    socket.on('close', () => resolve('closed'));
    socket.on('error', () => undefined);
    socket.resume();
  });
  assert.equal(outcome, 'closed');
  assert.ok(!text.includes('after-the-backlog'));
});

test('/api/events: HEAD is answered with the stream\'s headers and ends, instead of staying attached', { timeout: 30_000 }, async (t) => {
  const sup = await startSupervisor(t);
  const server = await startServer(t, sup);
  const head = await send(server, 'HEAD', '/api/events');
  assert.equal(head.status, 200);
  assert.match(String(head.headers['content-type']), /^text\/event-stream/);
  assert.equal(head.text, '');
});

test('dev server created before start(): /readyz and the plugin routes answer 503 PLUGVISOR_NOT_STARTED until the configured plugins are loaded', { timeout: 30_000 }, async (t) => {
  // The plugin's setup() holds start() open until the test lets it go.
  const { dir, setupRunning } = await heldSetupPlugin(t);
  const sup = new Supervisor({ root: REPO_ROOT, config: { log_level: 'silent', plugins: [{ path: dir }] } });
  t.after(() => sup.stop());
  const server = await startServer(t, sup);
  const started = sup.start();
  const [setup] = await setupRunning;

  const ready = await send(server, 'GET', '/readyz');
  assert.equal(ready.status, 503, ready.text);
  assert.deepEqual(ready.json.reasons, ['the supervisor is starting']);
  assertError(await send(server, 'GET', '/api/plugins'), 503, 'PLUGVISOR_NOT_STARTED');
  assertError(await send(server, 'POST', '/api/plugins/slow-setup/commands/ping'), 503, 'PLUGVISOR_NOT_STARTED');
  assertError(await send(server, 'POST', '/api/plugins', { body: { path: dir } }), 503, 'PLUGVISOR_NOT_STARTED');
  assert.deepEqual((await send(server, 'GET', '/healthz')).json, { ok: true }, 'the process is alive: liveness holds while starting');
  assertError(await send(server, 'GET', '/api/nothing-here'), 404, 'PLUGVISOR_HTTP_ROUTE_NOT_FOUND');

  setup.end();
  await started;
  const after = await send(server, 'GET', '/readyz');
  assert.equal(after.status, 200, after.text);
  assert.deepEqual(after.json, { ready: true, reasons: [], plugins: 1 });
  assert.deepEqual((await send(server, 'POST', '/api/plugins/slow-setup/commands/ping')).json, { result: 'pong' });
});

test('/readyz: a configured plugin kept aside because it failed to load (reload_on_import_error) makes the host not ready until it loads', { timeout: 30_000 }, async (t) => {
  const root = tempDir(t);
  const dir = writeVersioned(join(root, 'plugins', 'v'), { version: '1.0.0' });
  writeFileSync(join(dir, 'index.ts'), 'export default {{');
  const sup = new Supervisor({
    root,
    config: { log_level: 'silent', plugins: [{ path: 'plugins/v' }], development_mode: true, development: { reload_on_import_error: true }, watch: { enabled: false } },
  });
  t.after(() => sup.stop());
  await sup.start();
  const server = await startServer(t, sup);
  assert.deepEqual(sup.list(), []);

  const notReady = await send(server, 'GET', '/readyz');
  assert.equal(notReady.status, 503, notReady.text);
  assert.equal(notReady.json.reasons.length, 1, notReady.text);
  assert.ok(notReady.json.reasons[0].startsWith(`${dir} did not load: `), notReady.text);

  writeVersioned(dir, { version: '1.0.1' });
  assert.equal((await send(server, 'POST', '/api/plugins', { body: { path: dir } })).status, 200);
  const ready = await send(server, 'GET', '/readyz');
  assert.equal(ready.status, 200, ready.text);
  assert.deepEqual(ready.json, { ready: true, reasons: [], plugins: 1 });
});

test('readiness: the supervisor running and every eager plugin serving (a reload in progress still serves); lazy plugins do not count', () => {
  const info = (name: string, activation: 'eager' | 'lazy', status: string, error?: string) => ({ name, activation, status, ...(error ? { error } : {}) });
  assert.deepEqual(readiness('running', []), { ready: true, reasons: [] });
  assert.deepEqual(readiness('running', [info('a', 'eager', 'serving'), info('b', 'eager', 'reloading'), info('c', 'lazy', 'registered')]), { ready: true, reasons: [] });
  assert.deepEqual(readiness('running', [info('a', 'eager', 'restarting'), info('b', 'eager', 'failed', 'gave up after 2 restarts')]), {
    ready: false, reasons: ['a is restarting', 'b is failed: gave up after 2 restarts'],
  });
  // Before and after the supervisor runs, an empty or serving list says nothing about the plugins to come.
  assert.deepEqual(readiness('new', []), { ready: false, reasons: ['the supervisor has not been started'] });
  assert.deepEqual(readiness('starting', [info('a', 'eager', 'serving')]), { ready: false, reasons: ['the supervisor is starting'] });
  assert.deepEqual(readiness('stopping', [info('a', 'eager', 'serving')]), { ready: false, reasons: ['the supervisor is stopping'] });
});
