/**
 * The compile pipeline: a plugin's files are bundled into one module in .plugvisor/cache, yet each
 * file must behave as it does under Node from its own folder (require, __dirname, import.meta,
 * package resolution), and a cached bundle must not outlive what it was built from.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { PLUGVISOR_VERSION, type Supervisor } from 'plugvisor';
import { assertError, rejectionOf } from './expect.js';
import { hostConditions } from '../src/plugin/resolve-imports.js';
import { runHostScript, startSupervisor, tempDir, writePlugin, type PluginFiles } from './helpers.js';

/** A supervisor rooted in a fresh folder, with a plugin written to <root>/<name> and loaded. */
async function loadWritten(t: TestContext, name: string, files: PluginFiles): Promise<{ sup: Supervisor; dir: string }> {
  const root = tempDir(t);
  const dir = writePlugin(join(root, name), files);
  const sup = await startSupervisor(t, { root });
  await sup.load(dir);
  return { sup, dir };
}

test('a CommonJS plugin can require builtins, its own files and its dependencies, and sees its own __dirname and __filename', async (t) => {
  const { sup, dir } = await loadWritten(t, 'cjs', {
    'package.json': { name: 'cjs', version: '1.0.0', main: 'index.js' },
    'index.js': [
      "const fs = require('fs');",
      "const helper = require('./lib/helper.js');",
      "const dep = require('cjs-dep');",
      "const name = ['cjs', 'dep'].join('-');",
      'module.exports = { commands: { info: () => ({',
      "  data: fs.readFileSync(__dirname + '/data.txt', 'utf8'), dirname: __dirname, filename: __filename,",
      '  helper: helper(), dep: dep.where, computed: require(name).where,',
      '}) } };',
    ].join('\n'),
    'data.txt': 'root data',
    'lib/helper.js': "const path = require('node:path');\nmodule.exports = () => path.join(__dirname, 'x');\n",
    'node_modules/cjs-dep/package.json': { name: 'cjs-dep', version: '1.0.0', main: 'index.js' },
    'node_modules/cjs-dep/index.js': 'exports.where = __dirname;\n',
  });
  assert.deepEqual(await sup.call('cjs', 'info'), {
    data: 'root data', dirname: dir, filename: join(dir, 'index.js'),
    helper: join(dir, 'lib', 'x'), dep: join(dir, 'node_modules', 'cjs-dep'), computed: join(dir, 'node_modules', 'cjs-dep'),
  });
});

test('an ES module plugin can import a local CommonJS file that requires a builtin, beside its own require', async (t) => {
  const { sup } = await loadWritten(t, 'mixed', {
    'package.json': { name: 'mixed', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': [
      "import { createRequire } from 'node:module';",
      "import digest from './legacy.cjs';",
      // The usual ESM idiom: a top-level `require` of the plugin's own must not clash with the bundle's.
      'const require = createRequire(import.meta.url);',
      "const os = require('node:os') as typeof import('node:os');",
      "export default { commands: { digest: () => digest('abc'), eol: () => os.EOL } };",
    ].join('\n'),
    'legacy.cjs': "const crypto = require('crypto');\nmodule.exports = (s) => crypto.createHash('sha1').update(s).digest('hex');\n",
  });
  assert.equal(await sup.call('mixed', 'digest'), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(await sup.call('mixed', 'eol'), '\n');
});

test('a CommonJS entry compiled by tsc (exports.default with __esModule) is taken by its default', async (t) => {
  const { sup } = await loadWritten(t, 'tsc-cjs', {
    'package.json': { name: 'tsc-cjs', version: '1.0.0', main: 'index.js' },
    'index.js': '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nconst plugin = { commands: { hi: () => "hi" } };\nexports.default = plugin;\n',
  });
  assert.equal(await sup.call('tsc-cjs', 'hi'), 'hi');
});

test('a CommonJS entry that sets exports.default without __esModule is refused with the two ways out', async (t) => {
  const root = tempDir(t);
  const dir = writePlugin(join(root, 'cjs-default'), {
    'package.json': { name: 'cjs-default', version: '1.0.0', main: 'index.js' },
    'index.js': 'exports.default = { commands: { hi: () => "hi" } };\n',
  });
  const sup = await startSupervisor(t, { root });
  const err = await rejectionOf(sup.load(dir));
  assertError(err, 'PLUGVISOR_PLUGIN_INVALID', 'index.js', 'exports.__esModule = true', 'module.exports = ');
});

test('each bundled file sees its own import.meta: url, dirname, filename and resolve', async (t) => {
  const { sup, dir } = await loadWritten(t, 'meta', {
    'package.json': { name: 'meta', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': "import { util } from './lib/util.ts';\nexport default { commands: { util } };\n",
    'data.txt': 'root data',
    'lib/data.txt': 'lib data',
    'lib/util.ts': [
      "import { readFileSync } from 'node:fs';",
      'export function util() {',
      '  return {',
      "    data: readFileSync(new URL('./data.txt', import.meta.url), 'utf8'),",
      '    url: import.meta.url, dirname: import.meta.dirname, filename: import.meta.filename,',
      "    sibling: import.meta.resolve('./other.js'), dep: import.meta.resolve('esm-dep'), builtin: import.meta.resolve('fs'),",
      "    dual: import.meta.resolve('dual-dep'), computed: import.meta.resolve(['esm', 'dep'].join('-')),",
      '  };',
      '}',
    ].join('\n'),
    'node_modules/esm-dep/package.json': { name: 'esm-dep', version: '1.0.0', type: 'module', exports: './esm.js' },
    'node_modules/esm-dep/esm.js': 'export const v = 1;\n',
    // A literal name resolves as an import would: to the "import" file of a dual package.
    'node_modules/dual-dep/package.json': { name: 'dual-dep', version: '1.0.0', exports: { import: './esm.mjs', require: './cjs.cjs' } },
    'node_modules/dual-dep/esm.mjs': 'export const v = 1;\n',
    'node_modules/dual-dep/cjs.cjs': 'exports.v = 1;\n',
  });
  const lib = join(dir, 'lib');
  assert.deepEqual(await sup.call('meta', 'util'), {
    data: 'lib data', url: pathToFileURL(join(lib, 'util.ts')).href, dirname: lib, filename: join(lib, 'util.ts'),
    sibling: pathToFileURL(join(lib, 'other.js')).href,
    dep: pathToFileURL(join(dir, 'node_modules', 'esm-dep', 'esm.js')).href, builtin: 'node:fs',
    dual: pathToFileURL(join(dir, 'node_modules', 'dual-dep', 'esm.mjs')).href,
    computed: pathToFileURL(join(dir, 'node_modules', 'esm-dep', 'esm.js')).href,
  });
});

test('stack traces still point at the .ts line of a file that uses import.meta', async (t) => {
  const { sup } = await loadWritten(t, 'meta-stack', {
    'package.json': { name: 'meta-stack', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': "import { fail } from './lib/fail.ts';\nexport default { commands: { fail } };\n",
    'lib/fail.ts': "const here: string = import.meta.url;\n\nexport function fail(): never {\n  throw new Error('failed in ' + here);\n}\n",
  });
  const err = await rejectionOf(sup.call('meta-stack', 'fail'));
  assert.match(err.message, /failed in file:.*fail\.ts$/);
  assert.match(err.stack ?? '', /lib[\\/]fail\.ts:4:\d+/);
});

test('tsconfig paths aliases and package.json "imports" resolve to the plugin\'s own files, which are compiled', async (t) => {
  const root = tempDir(t);
  const dir = writePlugin(join(root, 'aliases'), {
    'package.json': { name: 'aliases', version: '1.0.0', type: 'module', main: 'src/index.ts', imports: { '#lib/*': './src/lib/*.ts' } },
    'tsconfig.json': { compilerOptions: { baseUrl: '.', paths: { '@lib/*': ['src/lib/*'] } } },
    'src/index.ts': "import { add } from '@lib/math';\nimport { twice } from '#lib/twice';\nimport { v } from 'esm-dep';\nimport { w } from 'linked';\nexport default { commands: { sum: () => add(twice(2), v) + w } };\n",
    'src/lib/math.ts': 'export const add = (a: number, b: number): number => a + b;\n',
    'src/lib/twice.ts': 'export const twice = (n: number): number => n * 2;\n',
    'node_modules/esm-dep/package.json': { name: 'esm-dep', version: '1.0.0', type: 'module', exports: './esm.js' },
    'node_modules/esm-dep/esm.js': 'export const v = 1;\n',
  });
  // A workspace package linked into node_modules resolves outside it, and is still a package.
  const linked = writePlugin(join(root, 'linked'), { 'package.json': { name: 'linked', version: '1.0.0', type: 'module', exports: './w.js' }, 'w.js': 'export const w = 10;\n' });
  symlinkSync(linked, join(dir, 'node_modules', 'linked'), 'dir');
  const sup = await startSupervisor(t, { root });
  await sup.load(dir);
  assert.equal(await sup.call('aliases', 'sum'), 15);
  const bundle = readFileSync(sup.info('aliases').module, 'utf8');
  assert.ok(bundle.includes(pathToFileURL(join(dir, 'node_modules', 'esm-dep', 'esm.js')).href), 'a real package stays external');
  assert.ok(bundle.includes(pathToFileURL(join(linked, 'w.js')).href), 'a linked package stays external');
});

test('the compile cache recompiles when a dependency moved its entry (as npm update does)', async (t) => {
  const { sup, dir } = await loadWritten(t, 'uses-dep', {
    'package.json': { name: 'uses-dep', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': "import { v } from 'esm-dep';\nexport default { commands: { v: () => v } };\n",
    'node_modules/esm-dep/package.json': { name: 'esm-dep', version: '1.0.0', type: 'module', exports: './esm.js' },
    'node_modules/esm-dep/esm.js': 'export const v = 1;\n',
  });
  const dep = join(dir, 'node_modules', 'esm-dep');
  assert.equal(await sup.call('uses-dep', 'v'), 1);
  writePlugin(dep, { 'package.json': { name: 'esm-dep', version: '1.1.0', type: 'module', exports: './esm2.js' }, 'esm2.js': 'export const v = 2;\n' });
  rmSync(join(dep, 'esm.js'));
  const r = await sup.reload('uses-dep', { force: true });
  assert.equal(r.ok, true, r.error?.message);
  assert.equal(await sup.call('uses-dep', 'v'), 2);
});

test('the compile cache recompiles when package.json "imports" or tsconfig paths now map to other files', async (t) => {
  const { sup, dir } = await loadWritten(t, 'remapped', {
    'package.json': { name: 'remapped', version: '1.0.0', type: 'module', main: 'index.ts', imports: { '#lib': './a.ts' } },
    'tsconfig.json': { compilerOptions: { paths: { '@t/*': ['./t1/*'] } } },
    'index.ts': "import { L } from '#lib';\nimport { T } from '@t/x';\nexport default { commands: { v: () => L + T } };\n",
    'a.ts': "export const L = 'a';\n",
    'b.ts': "export const L = 'b';\n",
    't1/x.ts': "export const T = '1';\n",
    't2/x.ts': "export const T = '2';\n",
  });
  assert.equal(await sup.call('remapped', 'v'), 'a1');
  writePlugin(dir, { 'package.json': { name: 'remapped', version: '1.0.0', type: 'module', main: 'index.ts', imports: { '#lib': './b.ts' } } });
  const r1 = await sup.reload('remapped');
  assert.equal(r1.ok, true, r1.error?.message);
  assert.equal(await sup.call('remapped', 'v'), 'b1');
  writePlugin(dir, { 'tsconfig.json': { compilerOptions: { paths: { '@t/*': ['./t2/*'] } } } });
  const r2 = await sup.reload('remapped');
  assert.equal(r2.ok, true, r2.error?.message);
  assert.equal(await sup.call('remapped', 'v'), 'b2');
});

test('the compile cache recompiles when a config the tsconfig.json extends changes (an array, a chain, a package\'s)', async (t) => {
  const { sup, dir } = await loadWritten(t, 'extended', {
    'package.json': { name: 'extended', version: '1.0.0', type: 'module', main: 'index.ts' },
    // JSON with comments and a trailing comma, as tsconfig.json allows.
    'tsconfig.json': '{\n  // the shared settings\n  "extends": ["./config/empty.json", "./config/base"],\n}\n',
    'config/empty.json': {},
    'config/base.json': { extends: '@cfg/base/tsconfig.json' },
    'node_modules/@cfg/base/package.json': { name: '@cfg/base', version: '1.0.0' },
    'node_modules/@cfg/base/tsconfig.json': { compilerOptions: { paths: { '@t/*': ['../../../t1/*'] } } },
    'index.ts': "import { T } from '@t/x';\nexport default { commands: { v: () => T } };\n",
    't1/x.ts': "export const T = '1';\n",
    't2/x.ts': "export const T = '2';\n",
    't3/x.ts': "export const T = '3';\n",
  });
  assert.equal(await sup.call('extended', 'v'), '1');
  writePlugin(dir, { 'node_modules/@cfg/base/tsconfig.json': { compilerOptions: { paths: { '@t/*': ['../../../t2/*'] } } } });
  const r1 = await sup.reload('extended');
  assert.equal(r1.ok, true, r1.error?.message);
  assert.equal(await sup.call('extended', 'v'), '2');
  writePlugin(dir, { 'config/base.json': { compilerOptions: { paths: { '@t/*': ['../t3/*'] } } } });
  const r2 = await sup.reload('extended');
  assert.equal(r2.ok, true, r2.error?.message);
  assert.equal(await sup.call('extended', 'v'), '3');
});

test('the compile cache recompiles when a tsconfig.json is written nearer the sources than the one they compiled with', async (t) => {
  const root = tempDir(t);
  writePlugin(root, { 'tsconfig.json': { compilerOptions: { paths: { '@t/*': ['./plugins/nearer/t1/*'] } } } });
  // No source in the plugin's own folder: only src/ and t1/, t2/ are folders holding one.
  const dir = writePlugin(join(root, 'plugins', 'nearer'), {
    'package.json': { name: 'nearer', version: '1.0.0', type: 'module', main: 'src/index.ts' },
    'src/index.ts': "import { T } from '@t/x';\nexport default { commands: { v: () => T } };\n",
    't1/x.ts': "export const T = '1';\n",
    't2/x.ts': "export const T = '2';\n",
  });
  const sup = await startSupervisor(t, { root });
  await sup.load(dir);
  assert.equal(await sup.call('nearer', 'v'), '1');
  writePlugin(dir, { 'tsconfig.json': { compilerOptions: { paths: { '@t/*': ['./t2/*'] } } } });
  const r = await sup.reload('nearer');
  assert.equal(r.ok, true, r.error?.message);
  assert.equal(await sup.call('nearer', 'v'), '2');
});

test('the compile cache recompiles when a file added beside an import now takes it (util.ts before util.js)', async (t) => {
  const { sup, dir } = await loadWritten(t, 'shadowed', {
    'package.json': { name: 'shadowed', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': "import { S } from './util';\nexport default { commands: { v: () => S } };\n",
    'util.js': "export const S = 'js';\n",
  });
  assert.equal(await sup.call('shadowed', 'v'), 'js');
  writePlugin(dir, { 'util.ts': "export const S = 'ts';\n" });
  const r = await sup.reload('shadowed');
  assert.equal(r.ok, true, r.error?.message);
  assert.equal(await sup.call('shadowed', 'v'), 'ts');
});

test("a plugin can import plugvisor's worker-side exports; any other name is a compile error naming it", async (t) => {
  const root = tempDir(t);
  const good = writePlugin(join(root, 'uses-api'), {
    'package.json': { name: 'uses-api', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': [
      "import { definePlugin, ErrorCodes, isPlugvisorError, PlugvisorError, PLUGVISOR_VERSION } from 'plugvisor';",
      'export default definePlugin({ commands: {',
      "  check: () => ({ version: PLUGVISOR_VERSION, known: 'PLUGVISOR_CALL_TIMEOUT' in ErrorCodes, is: isPlugvisorError(new PlugvisorError('PLUGVISOR_COMMAND_FAILED', 'x')) }),",
      "  fail: () => { throw new PlugvisorError('PLUGVISOR_COMMAND_FAILED', 'typed', { plugin: 'uses-api' }); },",
      '} });',
    ].join('\n'),
  });
  const bad = writePlugin(join(root, 'uses-host'), {
    'package.json': { name: 'uses-host', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': "import { Supervisor } from 'plugvisor';\nexport default { commands: { s: () => typeof Supervisor } };\n",
  });
  const sup = await startSupervisor(t, { root });
  await sup.load(good);
  assert.deepEqual(await sup.call('uses-api', 'check'), { version: PLUGVISOR_VERSION, known: true, is: true });
  const failed = await rejectionOf(sup.call('uses-api', 'fail'));
  assertError(failed, 'PLUGVISOR_COMMAND_FAILED', 'typed');
  const err = await rejectionOf(sup.load(bad));
  assertError(err, 'PLUGVISOR_COMPILE_FAILED', join(bad, 'index.ts:1:'), '"Supervisor" cannot be imported from \'plugvisor\'', 'definePlugin');
});

const CONDITIONAL_DEP = {
  'node_modules/cond-dep/package.json': { name: 'cond-dep', version: '1.0.0', exports: { module: './bundler.mjs', development: './dev.mjs', default: './node.cjs' } },
  'node_modules/cond-dep/bundler.mjs': "export const which = 'bundler';\n",
  'node_modules/cond-dep/dev.mjs': "export const which = 'development';\n",
  'node_modules/cond-dep/node.cjs': "exports.which = 'node';\n",
  'node_modules/main-dep/package.json': { name: 'main-dep', version: '1.0.0', main: './main.cjs', module: './module.mjs' },
  'node_modules/main-dep/main.cjs': "exports.which = 'main';\n",
  'node_modules/main-dep/module.mjs': "export const which = 'module';\n",
};

function writeConditionsPlugin(dir: string): string {
  return writePlugin(dir, {
    'package.json': { name: 'conditions', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': "import { which } from 'cond-dep';\nimport main from 'main-dep';\nexport default { commands: { which: () => [which, main.which] } };\n",
    ...CONDITIONAL_DEP,
  });
}

test("npm packages resolve by Node's rules: no bundler \"module\" condition or field", async (t) => {
  const dir = writeConditionsPlugin(join(tempDir(t), 'conditions'));
  const sup = await startSupervisor(t, { root: dir });
  await sup.load(dir);
  assert.deepEqual(await sup.call('conditions', 'which'), ['node', 'main']);
});

test("npm packages resolve with the host's --conditions (-C) flags", async (t) => {
  const root = tempDir(t);
  const dir = writeConditionsPlugin(join(root, 'conditions'));
  const { code, stdout: out } = await runHostScript(t, `const sup = new Supervisor({ root: ${JSON.stringify(root)}, config: { log_level: 'silent' } });
try {
  await sup.start();
  await sup.load(${JSON.stringify(dir)});
  console.log(JSON.stringify(await sup.call('conditions', 'which')));
} catch (err) {
  console.log(JSON.stringify({ code: err.code, message: err.message }));
} finally {
  await sup.stop();
}
`, ['-C', 'development']);
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(out), ['development', 'main']);
});

test('the host\'s conditions are read from its flags and NODE_OPTIONS, in both spellings', () => {
  assert.deepEqual(hostConditions(['-C', 'development', '--conditions=edge', '--inspect'], '--conditions custom -C=edge'), ['custom', 'edge', 'development']);
  assert.deepEqual(hostConditions([], ''), []);
});

test("a JSON file of an npm package imported with { type: 'json' } keeps its import attribute", async (t) => {
  const { sup } = await loadWritten(t, 'json-attr', {
    'package.json': { name: 'json-attr', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': [
      "import data from 'json-dep/data.json' with { type: 'json' };",
      "import manifest from 'json-dep/package.json' with { type: 'json' };",
      'export default { commands: { read: () => ({ data, version: manifest.version }) } };',
    ].join('\n'),
    'node_modules/json-dep/package.json': { name: 'json-dep', version: '3.1.4' },
    'node_modules/json-dep/data.json': { answer: 42 },
  });
  assert.deepEqual(await sup.call('json-attr', 'read'), { data: { answer: 42 }, version: '3.1.4' });
});
