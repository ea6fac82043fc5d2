/**
 * Scope `startup`: how long `sup.load()` of a small TypeScript plugin (plugins/counter) takes, cold
 * (empty compile cache: a fresh temp root for every sample) and warm (the compile cache hits), split
 * into compile and worker start, beside its baselines:
 *
 *   bare worker start    new Worker → online → first reply (workers/echo-worker.mjs)
 *   … with --import tsx  the same worker given the flags of a host run with `node --import tsx`
 *                        (a Worker inherits its parent's execArgv, plugvisor's workers too)
 *   bare worker import   a bare worker that imports the compiled plugin and says so: the worker
 *                        start without plugvisor's worker runtime (pino, protocol, activation)
 *   esbuild transform    transform() of the same index.ts in memory (no bundling, no files)
 *   esbuild build        build() with compilePlugin's options, in memory: what a cache miss runs
 *   fresh process        a new `node` that imports esbuild and runs its first transform (starts
 *                        esbuild's service process): paid once per host process, only on a miss
 *
 * The split comes from the supervisor itself: Supervisor.buildPlugin (compile, plugin config) is
 * wrapped to time it and read compiled.cached / compiled.compileMs; the rest of load() is reading
 * the manifest, starting the worker, importing the plugin and activating it.
 *
 * Variants are interleaved and their order rotated every round.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, transform } from 'esbuild';
import { loadPlugvisor, REPO_ROOT } from './lib/plugvisor.js';
import type { BenchScope, ScopeContext, ScopeResult, Table, TargetCheck } from './lib/scope.js';
import { fmtMs, msStats, type MsStats } from './lib/stats.js';
import { bareWorkerImport, bareWorkerStart } from './lib/worker-floors.js';

type Plugvisor = Awaited<ReturnType<typeof loadPlugvisor>>;
type Supervisor = InstanceType<Plugvisor['Supervisor']>;

const PLUGIN_DIR = join(REPO_ROOT, 'plugins', 'counter');
const ENTRY = join(PLUGIN_DIR, 'index.ts');

interface Plan {
  rounds: number;
  freshProcesses: number;
}

const FULL: Plan = { rounds: 20, freshProcesses: 5 };
const QUICK: Plan = { rounds: 3, freshProcesses: 1 };

interface LoadSample {
  loadMs: number;
  /** Supervisor.buildPlugin: compile (or cache lookup) and plugin config. */
  buildMs: number;
  compileMs: number;
  cached: boolean;
  /** load() minus buildPlugin: manifest, worker start, import, activation. */
  workerMs: number;
  moduleUrl: string;
}

/** One timed load() of the counter plugin with a supervisor rooted at `root`. */
async function timedLoad(Supervisor: Plugvisor['Supervisor'], root: string): Promise<LoadSample> {
  const sup: Supervisor = new Supervisor({ root, config: { log_level: 'silent' } });
  try {
    await sup.start();
    const original = sup.buildPlugin.bind(sup);
    let buildMs = 0;
    let compiled: Awaited<ReturnType<Supervisor['buildPlugin']>>['compiled'] | undefined;
    sup.buildPlugin = async (manifest) => {
      const t0 = performance.now();
      const b = await original(manifest);
      buildMs = performance.now() - t0;
      compiled = b.compiled;
      return b;
    };
    const t0 = performance.now();
    await sup.load(PLUGIN_DIR);
    const loadMs = performance.now() - t0;
    if (compiled === undefined) throw new Error('Supervisor.buildPlugin was not called by load(): the split cannot be measured');
    if ((await sup.call('counter', 'increment', 1)) !== 1) throw new Error('counter plugin did not answer as expected');
    return { loadMs, buildMs, compileMs: compiled.compileMs, cached: compiled.cached, workerMs: loadMs - buildMs, moduleUrl: compiled.moduleUrl };
  } finally {
    await sup.stop();
  }
}

/** A new node process: import esbuild, run its first transform (which spawns esbuild's service). */
function freshProcessEsbuild(source: string): { importMs: number; firstTransformMs: number; secondTransformMs: number } {
  const script = `
    const src = ${JSON.stringify(source)};
    const t0 = performance.now();
    const { transform } = await import('esbuild');
    const t1 = performance.now();
    await transform(src, { loader: 'ts', format: 'esm', target: 'node20' });
    const t2 = performance.now();
    await transform(src, { loader: 'ts', format: 'esm', target: 'node20' });
    const t3 = performance.now();
    process.stdout.write(JSON.stringify({ importMs: t1 - t0, firstTransformMs: t2 - t1, secondTransformMs: t3 - t2 }));
    process.exit(0);
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
  return JSON.parse(out) as { importMs: number; firstTransformMs: number; secondTransformMs: number };
}

async function run(ctx: ScopeContext): Promise<ScopeResult> {
  const plan = ctx.quick ? QUICK : FULL;
  const { Supervisor } = await loadPlugvisor();
  const source = readFileSync(ENTRY, 'utf8');
  const warmRoot = mkdtempSync(join(tmpdir(), 'plugvisor-bench-startup-warm-'));
  const roots: string[] = [warmRoot];
  try {
    // Warm-up: the warm root's cache gets its entry, esbuild's service starts, every path runs once.
    const first = await timedLoad(Supervisor, warmRoot);
    const moduleUrl = first.moduleUrl;
    await bareWorkerStart();
    await bareWorkerImport(moduleUrl);
    await transform(source, { loader: 'ts', format: 'esm', target: 'node20' });

    const cold: LoadSample[] = [];
    const warm: LoadSample[] = [];
    const bare: number[] = [];
    const bareTsx: number[] = [];
    const bareImport: number[] = [];
    const esbuildTransform: number[] = [];
    const esbuildBuild: number[] = [];
    const variants: Array<[string, () => Promise<void>]> = [
      ['cold load', async () => {
        const root = mkdtempSync(join(tmpdir(), 'plugvisor-bench-startup-cold-'));
        roots.push(root);
        cold.push(await timedLoad(Supervisor, root));
        rmSync(root, { recursive: true, force: true });
      }],
      ['warm load', async () => void warm.push(await timedLoad(Supervisor, warmRoot))],
      ['bare worker', async () => void bare.push((await bareWorkerStart()).firstReplyMs)],
      ['bare worker, --import tsx', async () => void bareTsx.push((await bareWorkerStart(['--import', 'tsx'])).firstReplyMs)],
      ['bare import', async () => void bareImport.push(await bareWorkerImport(moduleUrl))],
      ['esbuild transform', async () => {
        const t0 = performance.now();
        await transform(source, { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline' });
        esbuildTransform.push(performance.now() - t0);
      }],
      ['esbuild build', async () => {
        const t0 = performance.now();
        await build({
          entryPoints: [ENTRY], bundle: true, write: false, platform: 'node', format: 'esm', target: 'node20', sourcemap: 'inline',
          sourcesContent: true, metafile: true, logLevel: 'silent', absWorkingDir: PLUGIN_DIR, external: ['plugvisor'],
        });
        esbuildBuild.push(performance.now() - t0);
      }],
    ];
    for (let round = 0; round < plan.rounds; round++) {
      for (let i = 0; i < variants.length; i++) await variants[(i + round) % variants.length]![1]();
      if ((round + 1) % 5 === 0 || round + 1 === plan.rounds) ctx.log(`round ${round + 1}/${plan.rounds} done`);
    }
    const fresh = [];
    for (let i = 0; i < plan.freshProcesses; i++) fresh.push(freshProcessEsbuild(source));
    if (cold.some((s) => s.cached) || warm.some((s) => !s.cached)) {
      throw new Error(`compile cache did not behave: cold hits ${cold.filter((s) => s.cached).length}, warm misses ${warm.filter((s) => !s.cached).length}`);
    }
    return report(plan, { cold, warm, bare, bareTsx, bareImport, esbuildTransform, esbuildBuild, fresh });
  } finally {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  }
}

interface Measured {
  cold: LoadSample[];
  warm: LoadSample[];
  bare: number[];
  bareTsx: number[];
  bareImport: number[];
  esbuildTransform: number[];
  esbuildBuild: number[];
  fresh: Array<{ importMs: number; firstTransformMs: number; secondTransformMs: number }>;
}

function report(plan: Plan, m: Measured): ScopeResult {
  const split = (s: LoadSample[]): { load: MsStats; build: MsStats; compile: MsStats; worker: MsStats } => ({
    load: msStats(s.map((x) => x.loadMs)),
    build: msStats(s.map((x) => x.buildMs)),
    compile: msStats(s.map((x) => x.compileMs)),
    worker: msStats(s.map((x) => x.workerMs)),
  });
  const cold = split(m.cold);
  const warm = split(m.warm);
  const bare = msStats(m.bare);
  const bareTsx = msStats(m.bareTsx);
  const bareImport = msStats(m.bareImport);
  const tf = msStats(m.esbuildTransform);
  const bd = msStats(m.esbuildBuild);
  const fresh = {
    importMs: msStats(m.fresh.map((f) => f.importMs)),
    firstTransformMs: msStats(m.fresh.map((f) => f.firstTransformMs)),
    secondTransformMs: msStats(m.fresh.map((f) => f.secondTransformMs)),
  };
  const row = (name: string, s: MsStats, note = ''): Array<string | number> => [name, s.n, fmtMs(s.p50), fmtMs(s.p90), fmtMs(s.min), fmtMs(s.max), note];
  const loadTable: Table = {
    title: `load() of plugins/counter (TypeScript), ${plan.rounds} rounds, variants interleaved`,
    columns: ['variant', 'n', 'p50 ms', 'p90 ms', 'min ms', 'max ms', ''],
    rows: [
      row('cold load() (empty compile cache)', cold.load),
      row('  compile (buildPlugin)', cold.build, `esbuild inside: compileMs p50 ${fmtMs(cold.compile.p50)}`),
      row('  worker start (the rest)', cold.worker),
      row('warm load() (compile cache hit)', warm.load),
      row('  compile (buildPlugin)', warm.build, `cache lookup: compileMs p50 ${fmtMs(warm.compile.p50)}`),
      row('  worker start (the rest)', warm.worker),
      row('bare worker start', bare, 'new Worker -> online -> first reply'),
      row('bare worker, --import tsx inherited', bareTsx, 'a host run with node --import tsx'),
      row('bare worker + import plugin', bareImport, 'no plugvisor runtime'),
      row('esbuild transform (same file)', tf, 'in memory, no bundling'),
      row('esbuild build (same options)', bd, 'bundle, in memory: a cache miss'),
    ],
    note: 'worker start = load() - buildPlugin: manifest, new Worker, import of the compiled plugin, activation (state(), setup()).\n' +
      'cold and warm differ only by the compile: a cold load() in a running host pays esbuild, not its start.\n' +
      `esbuild in a new process (${fresh.importMs.n} processes): import p50 ${fmtMs(fresh.importMs.p50)} ms (every host pays it: plugvisor imports esbuild ` +
      `statically, cache hit or not), first transform p50 ${fmtMs(fresh.firstTransformMs.p50)} ms (starts its service: only on a miss), second ${fmtMs(fresh.secondTransformMs.p50)} ms.`,
  };
  const gainMs = cold.load.p50 - warm.load.p50;
  /** A first compile in a new process: esbuild's service starts (fresh-process first transform), then the usual cold compile. */
  const firstMiss = fresh.firstTransformMs.p50 - fresh.secondTransformMs.p50 + cold.build.p50;
  const gainTable: Table = {
    title: 'gain of the compile cache',
    columns: ['', 'cold p50 ms', 'warm p50 ms', 'saved ms', 'saved %'],
    rows: [
      ['load()', fmtMs(cold.load.p50), fmtMs(warm.load.p50), fmtMs(gainMs), `${Math.round((gainMs / cold.load.p50) * 100)}%`],
      ['compile', fmtMs(cold.build.p50), fmtMs(warm.build.p50), fmtMs(cold.build.p50 - warm.build.p50), `${Math.round(((cold.build.p50 - warm.build.p50) / cold.build.p50) * 100)}%`],
      // In a new host process the first miss also starts esbuild's service (its module is imported
      // with plugvisor's, hit or miss): what a restarted host saves per plugin that hits.
      ['compile, first in a new process', fmtMs(firstMiss), fmtMs(warm.build.p50), fmtMs(firstMiss - warm.build.p50), `${Math.round(((firstMiss - warm.build.p50) / firstMiss) * 100)}%`],
    ],
    note: `plugvisor's worker start over a bare worker: ${fmtMs(warm.worker.p50 - bare.p50)} ms (over a bare worker importing the plugin: ${fmtMs(warm.worker.p50 - bareImport.p50)} ms).\n` +
      `A host run with node --import tsx passes the flag to every worker (plugvisor gives its workers no execArgv of their own): +${fmtMs(bareTsx.p50 - bare.p50)} ms per worker start.`,
  };
  const targets: TargetCheck[] = [
    {
      name: 'compile cache hit skips esbuild',
      target: 'warm compile p50 < esbuild transform p50',
      measured: `${fmtMs(warm.build.p50)} ms vs ${fmtMs(tf.p50)} ms (cold compile ${fmtMs(cold.build.p50)} ms)`,
      pass: warm.build.p50 < tf.p50,
    },
  ];
  return {
    data: { plan, plugin: 'plugins/counter', firstMissCompileMs: firstMiss, cold, warm, bareWorkerStartMs: bare, bareWorkerStartImportTsxMs: bareTsx, bareWorkerImportMs: bareImport, esbuildTransformMs: tf, esbuildBuildMs: bd, freshProcessEsbuild: fresh, cacheGainMs: gainMs },
    tables: [loadTable, gainTable],
    targets,
  };
}

export default {
  description: 'plugin load time, cold vs warm compile cache, split into compile and worker start, beside a bare worker and esbuild',
  run,
} satisfies BenchScope;
