/**
 * The starting points of `plugvisor dev plugin create NAME --template …`: a package.json, an entry
 * and a test file that runs with `node --test` (through `plugvisor dev plugin test`). Each one
 * validates and loads as created.
 */
export const TEMPLATES = ['command', 'stateful', 'pooled'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

export interface TemplateFiles {
  'package.json': string;
  'index.ts': string;
  'index.test.mjs': string;
}

export function renderTemplate(template: TemplateName, name: string, enginesRange: string): TemplateFiles {
  const manifest = {
    name,
    version: '0.1.0',
    description: DESCRIPTIONS[template],
    type: 'module',
    main: 'index.ts',
    engines: { plugvisor: enginesRange },
    plugvisor: template === 'pooled'
      ? { pool: { maxThreads: 2 }, limits: { callTimeoutMs: 10000 } }
      : { activation: 'eager', limits: { callTimeoutMs: 5000 } },
    scripts: { test: `plugvisor dev plugin test ${name}` },
  };
  return {
    'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'index.ts': ENTRIES[template](name),
    'index.test.mjs': testFile(name, TESTS[template]),
  };
}

const DESCRIPTIONS: Record<TemplateName, string> = {
  command: 'A plugvisor plugin: commands without state.',
  stateful: 'A plugvisor plugin whose state survives reloads.',
  pooled: 'A stateless plugvisor plugin whose calls are spread over a pool of threads.',
};

const ENTRIES: Record<TemplateName, (name: string) => string> = {
  command: (name) => `// ${name}: commands without state. Try: plugvisor plugins call ${name} hello plugvisor
import { definePlugin } from 'plugvisor';

export default definePlugin({
  commands: {
    hello(_ctx, who: string = 'world') {
      return \`Hello, \${who}!\`;
    },
    echo(_ctx, ...args: unknown[]) {
      return args;
    },
  },
  // Optional: a reload is committed only when the new version reports ok.
  health: () => ({ ok: true }),
});
`,
  stateful: (name) => `// ${name}: its state is carried to the new version on every reload (serialised with node:v8:
// plain data, Map, Set, Date, typed arrays and BigInt survive; functions and handles do not).
// Try: plugvisor plugins call ${name} increment 5
import { definePlugin } from 'plugvisor';

interface State {
  count: number;
  history: Array<{ at: string; by: number }>;
}

export default definePlugin<State>({
  state: (): State => ({ count: 0, history: [] }),
  // Runs in the new version with the old version's state: adapt its shape here when it changes.
  migrate: (old: State, _info: { fromVersion: string }): State => ({ count: old.count ?? 0, history: old.history ?? [] }),
  setup(ctx) {
    ctx.log.debug({ count: ctx.state.count }, 'ready');
  },
  commands: {
    increment(ctx, by: number = 1) {
      const state = ctx.state;
      state.count += by;
      state.history.push({ at: new Date().toISOString(), by });
      if (state.history.length > 100) state.history.shift();
      return state.count;
    },
    get(ctx) {
      return ctx.state.count;
    },
    reset(ctx) {
      ctx.state = { count: 0, history: [] };
      return 0;
    },
  },
  health: (ctx) => ({ ok: Number.isFinite(ctx.state.count), count: ctx.state.count }),
});
`,
  pooled: (name) => `// ${name}: stateless and CPU-heavy: its calls are spread over a pool of threads (plugvisor.pool
// in package.json). Each thread has a scratch ctx.state of its own; nothing is kept between calls.
// Try: plugvisor plugins call ${name} sha256 '"hello"'
import { createHash, pbkdf2Sync } from 'node:crypto';
import { definePlugin } from 'plugvisor';

export default definePlugin({
  commands: {
    sha256(_ctx, text: string) {
      return createHash('sha256').update(text).digest('hex');
    },
    /** Deliberately slow work: what a pool pays off for. */
    stretch(_ctx, password: string, iterations: number = 10_000) {
      return pbkdf2Sync(password, '${name}', iterations, 32, 'sha256').toString('hex');
    },
  },
});
`,
};

const TESTS: Record<TemplateName, (name: string) => string> = {
  command: (name) => `test('hello greets', async () => {
  assert.equal(await sup.call(${JSON.stringify(name)}, 'hello', 'plugvisor'), 'Hello, plugvisor!');
  assert.deepEqual(await sup.call(${JSON.stringify(name)}, 'echo', 1, { a: 2 }), [1, { a: 2 }]);
});

test('an unknown command fails with a typed error', async () => {
  await assert.rejects(sup.call(${JSON.stringify(name)}, 'nope'), { code: 'PLUGVISOR_COMMAND_NOT_FOUND' });
});
`,
  stateful: (name) => `test('increment counts', async () => {
  await sup.call(${JSON.stringify(name)}, 'reset');
  assert.equal(await sup.call(${JSON.stringify(name)}, 'increment', 2), 2);
  assert.equal(await sup.call(${JSON.stringify(name)}, 'increment'), 3);
});

test('the count survives a reload', async () => {
  const before = await sup.call(${JSON.stringify(name)}, 'get');
  const result = await sup.reload(${JSON.stringify(name)});
  assert.equal(result.ok, true, result.error?.message);
  assert.equal(await sup.call(${JSON.stringify(name)}, 'get'), before);
});
`,
  pooled: (name) => `test('sha256 hashes', async () => {
  assert.equal(await sup.call(${JSON.stringify(name)}, 'sha256', 'abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('calls run in parallel on the pool', async () => {
  const results = await Promise.all([1, 2, 3, 4].map((i) => sup.call(${JSON.stringify(name)}, 'stretch', \`pw\${i}\`, 1000)));
  assert.equal(new Set(results).size, 4);
});
`,
};

function testFile(name: string, body: (name: string) => string): string {
  return `// Tests of ${name}: \`plugvisor dev plugin test ${name}\` runs them with node --test
// (--hot-reload: again on every save). They load the plugin into a supervisor of their own.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Supervisor } from 'plugvisor';

const pluginDir = fileURLToPath(new URL('.', import.meta.url));
// A scratch project folder: the supervisor keeps its compile cache there, not in the plugin.
const root = mkdtempSync(join(tmpdir(), 'plugvisor-test-'));
const sup = new Supervisor({ root, config: { log_level: 'silent' } });

before(async () => {
  await sup.start();
  await sup.load(pluginDir);
});

after(async () => {
  await sup.stop();
  rmSync(root, { recursive: true, force: true });
});

${body(name)}`;
}
