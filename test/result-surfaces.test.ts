/**
 * One command result, two surfaces: `plugvisor plugins call NAME CMD --json` (over the control
 * channel) and `POST /api/plugins/NAME/commands/CMD` (the HTTP dev server's `{ result }`) must
 * write it the same way, for every kind of value structured clone carries and JSON cannot hold as
 * it is. Both are asked of one real `plugvisor dev server` host, and both are held to the table in
 * docs/http-api.md ("Values JSON cannot hold").
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cli, createProject, removeProject, startHost, type CliProcess } from './cli-helpers.js';

/** Each kind: the plugin's return expression, and the JSON both surfaces must write for it. */
const KINDS: Record<string, { returns: string; json: unknown }> = {
  nan: { returns: 'NaN', json: 'NaN' },
  infinity: { returns: 'Infinity', json: 'Infinity' },
  negativeInfinity: { returns: '-Infinity', json: '-Infinity' },
  negativeZero: { returns: '-0', json: 0 },
  numbersInArray: { returns: '[NaN, Infinity, -Infinity, -0, 1.5]', json: ['NaN', 'Infinity', '-Infinity', 0, 1.5] },
  bigint: { returns: '2n ** 64n', json: '18446744073709551616' },
  arrayBuffer: { returns: 'new Uint8Array([1, 2, 255]).buffer', json: [1, 2, 255] },
  dataView: { returns: 'new DataView(new Uint8Array([0, 1, 2, 3]).buffer, 1, 2)', json: [1, 2] },
  uint8Array: { returns: 'new Uint8Array([1, 2, 255])', json: [1, 2, 255] },
  float64Array: { returns: 'new Float64Array([1.5, NaN, Infinity, -0])', json: [1.5, 'NaN', 'Infinity', 0] },
  bigInt64Array: { returns: 'new BigInt64Array([1n, -2n])', json: ['1', '-2'] },
  mapStringKeys: { returns: 'new Map([["a", 1], ["b", NaN], ["c", undefined]])', json: { a: 1, b: 'NaN', c: null } },
  mapOtherKeys: { returns: 'new Map([[1, "x"], [{ k: 1n }, "y"]])', json: [[1, 'x'], [{ k: '1' }, 'y']] },
  set: { returns: 'new Set([1, "a", NaN, 2n])', json: [1, 'a', 'NaN', '2'] },
  date: { returns: 'new Date(0)', json: '1970-01-01T00:00:00.000Z' },
  invalidDate: { returns: 'new Date(NaN)', json: null },
  undefined: { returns: 'undefined', json: null },
  undefinedInArray: { returns: '[1, undefined, 3]', json: [1, null, 3] },
  undefinedInObject: { returns: '({ a: 1, b: undefined })', json: { a: 1 } },
  cycle: { returns: '(() => { const o = { name: "o", list: [] }; o.list.push(o); return o; })()', json: { name: 'o', list: ['[Circular]'] } },
  boxed: { returns: '[new String("x"), new Number(NaN), new Boolean(false), Object(5n)]', json: ['x', 'NaN', false, '5'] },
  regexp: { returns: '/ab+c/gi', json: '/ab+c/gi' },
  errorWithCause: { returns: 'new RangeError("bad", { cause: new Error("root") })', json: { name: 'RangeError', message: 'bad', cause: 'root' } },
  nested: { returns: '({ n: NaN, big: 1n, bytes: new Uint8Array([7]).buffer, when: new Date(0) })', json: { n: 'NaN', big: '1', bytes: [7], when: '1970-01-01T00:00:00.000Z' } },
};

const kinds = {
  'package.json': { name: 'kinds', version: '1.0.0', type: 'module', main: 'index.ts' },
  'index.ts': `export default { commands: {\n${Object.entries(KINDS).map(([name, k]) => `  ${name}() { return ${k.returns}; },`).join('\n')}\n} };\n`,
};

let dir: string;
let host: CliProcess;
let url: string;

before(async () => {
  dir = createProject('plugvisor-results-', { kinds });
  host = await startHost(dir, ['dev', 'server', '--port', '0']);
  url = (await host.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/))[1]!;
});

after(async () => {
  const code = await host?.stop('SIGTERM');
  removeProject(dir);
  assert.equal(code, 0, 'SIGTERM drains and exits 0');
});

async function viaCli(command: string): Promise<unknown> {
  const r = await cli(dir, ['plugins', 'call', 'kinds', command, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function viaHttp(command: string): Promise<unknown> {
  const res = await fetch(`${url}/api/plugins/kinds/commands/${command}`, { method: 'POST' });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return (JSON.parse(text) as { result: unknown }).result;
}

for (const [name, kind] of Object.entries(KINDS)) {
  test(`${name}: ${kind.returns} is written ${JSON.stringify(kind.json)} by both plugins call --json and the HTTP API`, async () => {
    const [fromCli, fromHttp] = await Promise.all([viaCli(name), viaHttp(name)]);
    // deepStrictEqual compares numbers with Object.is, so a -0 on one side and 0 on the other differ.
    assert.deepStrictEqual(fromCli, fromHttp, 'the CLI and the HTTP API disagree');
    assert.deepStrictEqual(fromHttp, kind.json, 'not the documented encoding');
  });
}
