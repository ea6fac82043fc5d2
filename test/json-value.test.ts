/**
 * The shared JSON encoding (src/json-value.ts) on its own: what result-surfaces.test.ts cannot
 * reach through a worker (values built on the host), and the properties both surfaces rely on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorToJson, toJsonText, toJsonValue } from '../src/json-value.js';

test('encoding twice changes nothing: the CLI encodes again what the control channel sent', () => {
  const value = { n: NaN, i: -Infinity, z: -0, big: 3n, m: new Map([[1, new Set([NaN])]]), bytes: new Uint8Array([1, 2]).buffer, d: new Date(0) };
  const once = toJsonValue(value);
  assert.deepStrictEqual(toJsonValue(once), once);
  assert.deepStrictEqual(JSON.parse(toJsonText(value)), once);
});

test('a back-reference is "[Circular]"; an object shared without a cycle is written each time', () => {
  const leaf = { v: 1 };
  const root: Record<string, unknown> = { a: leaf, b: leaf, m: new Map<string, unknown>() };
  (root['m'] as Map<string, unknown>).set('up', root);
  assert.deepStrictEqual(toJsonValue(root), { a: { v: 1 }, b: { v: 1 }, m: { up: '[Circular]' } });
});

test('undefined is a JSON document ("null") at the top, null in arrays, left out as a property', () => {
  assert.equal(toJsonText(undefined), 'null');
  assert.equal(toJsonText([undefined, 1]), '[null,1]');
  assert.equal(toJsonText({ a: undefined, b: 1 }), '{"b":1}');
});

test('a SharedArrayBuffer and a DataView are their bytes; a Buffer made on the host its bytes too', () => {
  const shared = new SharedArrayBuffer(2);
  new Uint8Array(shared).set([9, 8]);
  assert.deepStrictEqual(toJsonValue(shared), [9, 8]);
  assert.deepStrictEqual(toJsonValue(new DataView(shared, 1)), [8]);
  assert.deepStrictEqual(toJsonValue(Buffer.from('hi')), [104, 105]);
});

test('an error: name, message and own fields, never the stack; a cause by its message', () => {
  const err = Object.assign(new TypeError('bad', { cause: new Error('root') }), { code: 'E_X', limit: 2n, gone: undefined });
  assert.deepStrictEqual(errorToJson(err), { name: 'TypeError', message: 'bad', code: 'E_X', limit: '2', cause: 'root' });
});
