import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSupervisor, tempDir, writePlugin } from './helpers.js';
import { writeVersioned } from './reload-helpers.js';

test('development mode with auto_install_deps runs npm install for a plugin whose dependencies are missing', async (t) => {
  const root = tempDir(t);
  writePlugin(join(root, 'local-dep'), {
    'package.json': { name: 'local-dep', version: '1.0.0', type: 'module', main: 'index.js' },
    'index.js': 'export const answer = 42;\n',
  });
  const dir = writePlugin(join(root, 'plugins', 'needs-dep'), {
    'package.json': { name: 'needs-dep', version: '1.0.0', type: 'module', main: 'index.ts', dependencies: { 'local-dep': 'file:../../local-dep' } },
    'index.ts': `import { answer } from 'local-dep';\nexport default { commands: { answer: () => answer } };\n`,
  });
  const sup = await startSupervisor(t, { root, config: { log_level: 'silent', development_mode: true, development: { auto_install_deps: true } } });
  await sup.load(dir);
  assert.ok(existsSync(join(dir, 'node_modules', 'local-dep', 'package.json')));
  assert.equal(await sup.call('needs-dep', 'answer'), 42);
});

test('without development mode a missing dependency is a compile error naming the import', async (t) => {
  const root = tempDir(t);
  const dir = writePlugin(join(root, 'plugins', 'needs-dep'), {
    'package.json': { name: 'needs-dep', version: '1.0.0', type: 'module', main: 'index.ts', dependencies: { 'local-dep': 'file:../../local-dep' } },
    'index.ts': `import { answer } from 'local-dep';\nexport default { commands: { answer: () => answer } };\n`,
  });
  const sup = await startSupervisor(t, { root, config: { log_level: 'silent', development: { auto_install_deps: true } } });
  await assert.rejects(sup.load(dir), (err: Error & { code?: string }) => err.code === 'PLUGVISOR_COMPILE_FAILED' && /local-dep/.test(err.message));
});

test('preserve_breakpoints keeps the compiled module at one path across reloads, source-mapped to the .ts file', async (t) => {
  const root = tempDir(t);
  const dir = writeVersioned(join(root, 'plugins', 'v'), { version: '1.0.0' });
  const sup = await startSupervisor(t, { root, config: { log_level: 'silent', development_mode: true, development: { preserve_breakpoints: true } } });
  await sup.load(dir);
  const before = sup.info('versioned').module;
  writeVersioned(dir, { version: '1.0.1' });
  assert.equal((await sup.reload('versioned')).ok, true);
  assert.equal(sup.info('versioned').module, before);
  const map = /sourceMappingURL=data:application\/json;base64,(\S+)/.exec(readFileSync(before, 'utf8'))![1]!;
  const sources = (JSON.parse(Buffer.from(map, 'base64').toString('utf8')) as { sources: string[] }).sources;
  assert.ok(sources.some((s) => join(before, '..', s) === join(dir, 'index.ts')), sources.join(', '));
  // A rolled-back reload must not leave the next version's code in the shared file.
  writeVersioned(dir, { version: '1.0.2', hooks: `health() { return { ok: false }; },` });
  assert.equal((await sup.reload('versioned')).ok, false);
  await sup.call('versioned', 'crashSoon');
  await new Promise<void>((resolve) => sup.once('restart', () => resolve()));
  assert.equal(((await sup.call('versioned', 'get')) as { version: string }).version, '1.0.1');
});

test('the compile cache serves an unchanged plugin without running esbuild, and misses when a source changes', async (t) => {
  const root = tempDir(t);
  const dir = writeVersioned(join(root, 'plugins', 'v'), { version: '1.0.0' });
  const sup = await startSupervisor(t, { root });
  await sup.load(dir);
  const first = sup.info('versioned').module;
  assert.equal((await sup.reload('versioned')).ok, true);
  assert.equal(sup.info('versioned').module, first, 'same content, same compiled file');
  writeFileSync(join(dir, 'index.ts'), readFileSync(join(dir, 'index.ts'), 'utf8').replace('"1.0.0"', '"1.0.0-changed"'));
  assert.equal((await sup.reload('versioned')).ok, true);
  assert.notEqual(sup.info('versioned').module, first);
  assert.equal(((await sup.call('versioned', 'get')) as { version: string }).version, '1.0.0-changed');
});

test('reload.validation: false skips the dependency checks, as force does', async (t) => {
  const root = tempDir(t);
  const dep = writeVersioned(join(root, 'dep'), { version: '1.0.0', name: 'dep' });
  const app = writeVersioned(join(root, 'app'), { version: '1.0.0', name: 'app', dependsOn: { dep: '^1.0.0' } });
  const sup = await startSupervisor(t, { root, config: { log_level: 'silent', reload: { validation: false } } });
  await sup.load(dep);
  await sup.load(app);
  writeVersioned(app, { version: '1.1.0', name: 'app', dependsOn: { dep: '^7.0.0' } });
  const r = await sup.reload('app');
  assert.equal(r.ok, true, r.error?.message);
  writeVersioned(app, { version: '1.2.0', name: 'app', dependsOn: { dep: '^7.0.0' }, hooks: `health() { return { ok: false }; },` });
  const unhealthy = await sup.reload('app');
  assert.equal(unhealthy.error?.step, 'health', 'health() still decides the commit');
  assert.equal(sup.info('app').version, '1.1.0');
});
