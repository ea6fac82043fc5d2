/**
 * Scope `watch`: the development loop, measured as a user lives it: the time from saving a small
 * TypeScript plugin's file to the new version serving (a call answered by it), over N saves, with
 * file watching on (chokidar, content hashes, cooldown) and the compile cache in place.
 *
 * Beside it, the same save when the whole host process is restarted instead (what `node --watch`
 * does): spawn a host, wait until it answers, per save.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPlugvisor } from './lib/plugvisor.js';
import type { BenchScope, ScopeContext, ScopeResult } from './lib/scope.js';
import { round } from './lib/stats.js';

const TARGET_SAVE_TO_SERVE_MS = 1000;

function pluginSource(version: number): string {
  return `import { definePlugin } from 'plugvisor';
interface State { hits: number }
export default definePlugin({
  state: (): State => ({ hits: 0 }),
  commands: {
    version: () => ${version},
    hit(ctx) { ctx.state.hits++; return ctx.state.hits; },
  },
});
`;
}

function writePlugin(dir: string, version: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'edited', version: `1.0.${version}`, type: 'module', main: 'index.ts' }));
  writeFileSync(join(dir, 'index.ts'), pluginSource(version));
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Save, then call until the new version answers: the wait a developer sees. */
async function saveToServe(ctx: ScopeContext, saves: number, cooldown: number): Promise<number[]> {
  const { Supervisor } = await loadPlugvisor();
  const root = mkdtempSync(join(tmpdir(), 'plugvisor-bench-watch-'));
  const dir = join(root, 'plugins', 'edited');
  writePlugin(dir, 0);
  const sup = new Supervisor({ root, config: { log_level: 'silent', watch: { enabled: true }, safety: { cooldown_period: cooldown }, plugins: [{ path: 'plugins/edited' }] } });
  const times: number[] = [];
  try {
    await sup.start();
    for (let i = 1; i <= saves; i++) {
      const served = new Promise<void>((resolve) => {
        const onReload = (e: { plugin: string; toVersion: string }): void => {
          if (e.plugin === 'edited' && e.toVersion === `1.0.${i}`) {
            sup.off('reload', onReload);
            resolve();
          }
        };
        sup.on('reload', onReload);
      });
      const t0 = performance.now();
      writePlugin(dir, i);
      await served;
      const answer = await sup.call('edited', 'version');
      times.push(performance.now() - t0);
      if (answer !== i) throw new Error(`save ${i}: the plugin answered version ${String(answer)}`);
    }
    ctx.log(`watch: ${saves} saves measured`);
  } finally {
    await sup.stop();
    rmSync(root, { recursive: true, force: true });
  }
  return times;
}

/** The alternative: restart the whole host on every save, as `node --watch` does. */
async function restartPerSave(ctx: ScopeContext, saves: number): Promise<number[]> {
  const root = mkdtempSync(join(tmpdir(), 'plugvisor-bench-restart-'));
  const dir = join(root, 'plugins', 'edited');
  writePlugin(dir, 0);
  const distEntry = fileURLToPath(new URL('../dist/src/index.js', import.meta.url));
  const host = join(root, 'host.mjs');
  writeFileSync(host, `import { Supervisor } from ${JSON.stringify(distEntry)};
const sup = new Supervisor({ root: ${JSON.stringify(root)}, config: { log_level: 'silent', plugins: [{ path: 'plugins/edited' }] } });
await sup.start();
process.stdout.write(String(await sup.call('edited', 'version')) + '\\n');
await sup.stop();
`);
  const times: number[] = [];
  try {
    for (let i = 1; i <= saves; i++) {
      const t0 = performance.now();
      writePlugin(dir, i);
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [host], { stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.once('error', reject);
        child.once('close', () => resolve(text.trim()));
      });
      // The time until the new version answered (the host then exits; that is not counted).
      times.push(performance.now() - t0);
      if (out !== String(i)) throw new Error(`restart ${i}: got ${out}`);
    }
    ctx.log(`restart: ${saves} restarts measured`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return times;
}

async function run(ctx: ScopeContext): Promise<ScopeResult> {
  const saves = ctx.quick ? 5 : 20;
  const cooldown = 0.05;
  const watch = await saveToServe(ctx, saves, cooldown);
  const restart = await restartPerSave(ctx, ctx.quick ? 3 : 10);
  const summary = (xs: number[]): { p50: number; p90: number; max: number } => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: round(percentile(s, 0.5), 1), p90: round(percentile(s, 0.9), 1), max: round(s[s.length - 1]!, 1) };
  };
  const w = summary(watch);
  const r = summary(restart);
  return {
    data: { saves, cooldownSeconds: cooldown, saveToServeMs: watch.map((x) => round(x, 1)), restartPerSaveMs: restart.map((x) => round(x, 1)), watch: w, restart: r },
    tables: [{
      title: `save to new version serving (${saves} saves of a small TypeScript plugin, cooldown_period ${cooldown} s)`,
      columns: ['how', 'p50 ms', 'p90 ms', 'max ms', 'state kept'],
      rows: [
        ['plugvisor watch + reload', w.p50, w.p90, w.max, 'yes'],
        ['restart the host process', r.p50, r.p90, r.max, 'no'],
      ],
      note: 'restart: a new node process per save, up to the first call answered by the new version (no other plugin loaded).\n' +
        'watch: the cooldown is part of the figure; the default cooldown_period (0.3 s) adds 0.25 s.',
    }],
    targets: [{
      name: 'save to serve p50',
      target: `< ${TARGET_SAVE_TO_SERVE_MS} ms`,
      measured: `${w.p50} ms (restart: ${r.p50} ms)`,
      pass: w.p50 < TARGET_SAVE_TO_SERVE_MS,
    }],
  };
}

const scope: BenchScope = {
  description: 'the development loop: save to new version serving, beside restarting the host process',
  run,
};

export default scope;
