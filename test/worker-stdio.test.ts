import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runHostScript, tempDir, writePlugin } from './helpers.js';

const LINES = 20_000;

test("what a plugin prints in dispose() reaches the host's stdout, at a reload and at stop()", async (t) => {
  const root = tempDir(t);
  const dir = writePlugin(tempDir(t), {
    'package.json': { name: 'printer', version: '1.0.0', type: 'module', main: 'index.js' },
    'index.js': `export default {
  commands: { ping: () => 'pong' },
  dispose() { for (let i = 0; i < ${LINES}; i++) console.log('line ' + i); console.log('disposed'); },
};`,
  });
  const { code, stdout } = await runHostScript(t, `const sup = new Supervisor({ root: ${JSON.stringify(root)}, config: { log_level: 'silent' } });
await sup.start();
await sup.load(${JSON.stringify(dir)});
const r = await sup.reload('printer', { force: true });
if (!r.ok) throw r.error;
await sup.stop();
`);
  assert.equal(code, 0);
  const lines = stdout.split('\n');
  assert.equal(lines.filter((l) => l === 'disposed').length, 2, 'both versions finished printing');
  assert.equal(lines.filter((l) => l.startsWith('line ')).length, 2 * LINES);
});
