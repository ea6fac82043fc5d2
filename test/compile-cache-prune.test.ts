import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { pruneCompileCache } from '../src/plugin/prune-compile-cache.js';
import { nextEvent, startSupervisor, tempDir, writePlugin } from './helpers.js';

const HOUR_MS = 3_600_000;

test('pruning keeps the 5 newest versions of each plugin, the ones in use and the young ones', (t) => {
  const cache = tempDir(t);
  const now = Date.now();
  const version = (dir: string, plugin: string, i: number, ageMs: number): string => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${plugin}-${i.toString(16).padStart(16, '0')}.mjs`);
    writeFileSync(file, `// ${i}`);
    utimesSync(file, new Date(now - ageMs), new Date(now - ageMs));
    return file;
  };
  // app: 8 old versions (0 the newest); one beyond the newest 5 is in use, one is young.
  const app = Array.from({ length: 8 }, (_, i) => version(cache, 'app', i, (i + 1) * HOUR_MS));
  const young = version(cache, 'app-extra', 0, 0);
  for (let i = 1; i <= 6; i++) version(cache, 'app-extra', i, i * 1000);
  const stable = Array.from({ length: 7 }, (_, i) => version(join(cache, 'dev', 'app'), 'app', i, (i + 1) * HOUR_MS));
  writeFileSync(join(cache, 'unrelated.json'), '{}');

  const removed = pruneCompileCache(cache, new Set([app[6]!]), now);
  assert.equal(removed, 4);
  assert.deepEqual(app.map(existsSync), [true, true, true, true, true, false, true, false]);
  assert.equal(existsSync(young), true);
  assert.equal(readdirSync(cache).filter((f) => f.startsWith('app-extra-')).length, 7, 'another plugin, young versions: all kept');
  assert.deepEqual(stable.map(existsSync), [true, true, true, true, true, false, false]);
  assert.equal(existsSync(join(cache, 'unrelated.json')), true);
});

test("a plugin whose compiled file was removed from the cache writes it back before its next worker starts", async (t) => {
  const sup = await startSupervisor(t, { root: tempDir(t) });
  await sup.load(writePlugin(tempDir(t), {
    'package.json': { name: 'phoenix', version: '1.0.0', type: 'module', main: 'index.ts' },
    'index.ts': `export default { commands: { ping: () => 'pong', exit: () => process.exit(3) } };`,
  }));
  const { module } = sup.info('phoenix');
  const file = module.startsWith('file:') ? fileURLToPath(module) : module;
  rmSync(file);
  const restarted = nextEvent(sup, 'restart', 'phoenix');
  await sup.call('phoenix', 'exit').catch(() => undefined);
  await restarted;
  assert.equal(await sup.call('phoenix', 'ping'), 'pong');
  assert.equal(existsSync(file), true);
});
