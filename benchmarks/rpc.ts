/**
 * Scope `rpc`: the cost of a command call through the supervisor, beside its baselines.
 *
 *   in-process   await commands.echo(ctx, x)                 no thread, no clone: the floor
 *   bare port    worker.postMessage({id, v}) -> parentPort echoes it back
 *                callback-driven, no promise, no id table: the least a round trip can cost
 *   sup.call     sup.call('bench', 'echo', x)                what users pay (dist/, not sources)
 *   comlink      await remote.echo(x), comlink over the same kind of worker port
 *
 * Two measurements, each in several rounds with the variants interleaved (rotated each round) so
 * drift on a shared machine hits them all alike:
 *   sequential   one call at a time: latency p50/p90/p99/mean and calls/s
 *   pipelined    a window of W calls outstanding (a new one is issued as each settles), and a burst
 *                of N calls issued in one tick: calls/s (median round)
 *
 * Targets (issue #2): sequential sup.call p50 within 1.5x of the bare port's; pipelined sup.call at
 * least 70% of the bare port's calls/s at every window above 1.
 */
import { deepStrictEqual } from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { wrap, type Remote } from 'comlink';
import { nodeEndpoint } from './lib/comlink-node.js';
import { loadPlugvisor, REPO_ROOT } from './lib/plugvisor.js';
import type { BenchScope, ScopeContext, ScopeResult, Table, TargetCheck } from './lib/scope.js';
import { fmtInt, latencyStats, ratio, throughputStats, type LatencyStats, type ThroughputStats } from './lib/stats.js';
import echoPlugin from './plugins/echo/index.js';

/**
 * A small structured value (a number or a string alone would under-state the clone), made fresh for
 * every call: the structured clone writes an object it already wrote in the same message as a
 * back-reference, so one shared payload would make a batch of N calls clone it once and flatter
 * every batching transport against the bare port.
 */
const payload = (n: number): { n: number; name: string; tags: string[]; ok: boolean } => ({ n, name: 'bench', tags: ['a', 'b'], ok: true });
const PAYLOAD = payload(0);

const SEQUENTIAL_TARGET = 1.5;
const PIPELINED_TARGET = 0.7;

interface Plan {
  rounds: number;
  warmupCalls: number;
  sequentialCallsPerRound: number;
  /** window -> calls per pipelined run; 'burst' issues them all in one tick. */
  pipelined: Array<{ window: number | 'burst'; calls: number }>;
}

const FULL: Plan = {
  rounds: 5,
  warmupCalls: 5_000,
  sequentialCallsPerRound: 4_000,
  pipelined: [
    { window: 1, calls: 4_000 },
    { window: 16, calls: 20_000 },
    { window: 256, calls: 40_000 },
    { window: 'burst', calls: 20_000 },
  ],
};

const QUICK: Plan = {
  rounds: 2,
  warmupCalls: 500,
  sequentialCallsPerRound: 500,
  pipelined: [
    { window: 1, calls: 500 },
    { window: 16, calls: 2_000 },
    { window: 256, calls: 4_000 },
    { window: 'burst', calls: 2_000 },
  ],
};

interface SequentialRun {
  samples: Float64Array;
  wallMs: number;
}

/** One way of making a call, measurable both ways. */
interface Variant {
  readonly name: string;
  sequential(calls: number): Promise<SequentialRun>;
  /** Resolves with the wall time of `calls` calls, `window` outstanding at a time. */
  pipelined(calls: number, window: number): Promise<number>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Variants

/** Sequential and pipelined drivers for anything that returns a promise per call. */
function promiseVariant(name: string, call: (x: unknown) => Promise<unknown>, close: () => Promise<void>): Variant {
  return {
    name,
    async sequential(calls) {
      const samples = new Float64Array(calls);
      const start = performance.now();
      for (let i = 0; i < calls; i++) {
        const t0 = performance.now();
        await call(payload(i));
        samples[i] = performance.now() - t0;
      }
      return { samples, wallMs: performance.now() - start };
    },
    pipelined(calls, window) {
      return new Promise((resolve, reject) => {
        let issued = 0;
        let settled = 0;
        const start = performance.now();
        const onSettled = (): void => {
          if (++settled === calls) resolve(performance.now() - start);
          else if (issued < calls) issue();
        };
        const issue = (): void => {
          call(payload(issued++)).then(onSettled, reject);
        };
        for (let i = 0, n = Math.min(window, calls); i < n; i++) issue();
      });
    },
    close,
  };
}

function inProcessVariant(): Variant {
  const ctx = { name: 'bench', version: '1.0.0', state: undefined, config: undefined, log: undefined as never, plugins: {} };
  const { echo } = echoPlugin.commands;
  // async, as a caller of an in-process plugin API would write it: one microtask per call.
  return promiseVariant('in-process', async (x) => echo(ctx, x), async () => {});
}

async function supervisorVariant(): Promise<Variant> {
  const { Supervisor } = await loadPlugvisor();
  const sup = new Supervisor({ root: REPO_ROOT, config: { log_level: 'silent' } });
  try {
    await sup.start();
    await sup.load(fileURLToPath(new URL('./plugins/echo/', import.meta.url)));
    deepStrictEqual(await sup.call('bench', 'echo', PAYLOAD), PAYLOAD);
  } catch (err) {
    await sup.stop();
    throw err;
  }
  return promiseVariant('sup.call', (x) => sup.call('bench', 'echo', x), () => sup.stop());
}

async function startWorker(file: string): Promise<Worker> {
  const worker = new Worker(new URL(file, import.meta.url), { name: `bench:${file}` });
  await new Promise<void>((resolve, reject) => {
    worker.once('online', resolve);
    worker.once('error', reject);
  });
  return worker;
}

type EchoMessage = { id: number; v: unknown };

/**
 * The bare baseline, driven by callbacks: each reply posts the next message from inside the
 * 'message' listener, with no promise, no pending table and no batching.
 */
async function bareVariant(): Promise<Variant> {
  const worker = await startWorker('./workers/echo-worker.mjs');
  let onReply: (msg: EchoMessage) => void = () => {};
  worker.on('message', (msg: EchoMessage) => onReply(msg));
  const post = (id: number): void => worker.postMessage({ id, v: payload(id) } satisfies EchoMessage);

  const first = await new Promise<EchoMessage>((resolve) => {
    onReply = resolve;
    post(0);
  });
  deepStrictEqual(first, { id: 0, v: PAYLOAD });

  return {
    name: 'bare port',
    sequential(calls) {
      return new Promise((resolve) => {
        const samples = new Float64Array(calls);
        let i = 0;
        let t0 = 0;
        const start = performance.now();
        onReply = () => {
          const now = performance.now();
          samples[i++] = now - t0;
          if (i === calls) return resolve({ samples, wallMs: now - start });
          t0 = performance.now();
          post(i);
        };
        t0 = performance.now();
        post(0);
      });
    },
    pipelined(calls, window) {
      return new Promise((resolve) => {
        let issued = 0;
        let settled = 0;
        const start = performance.now();
        onReply = () => {
          if (++settled === calls) resolve(performance.now() - start);
          else if (issued < calls) post(issued++);
        };
        for (let n = Math.min(window, calls); issued < n;) post(issued++);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

async function comlinkVariant(): Promise<Variant> {
  const worker = await startWorker('./workers/comlink-echo-worker.mjs');
  const remote: Remote<{ echo(x: unknown): unknown }> = wrap(nodeEndpoint(worker));
  deepStrictEqual(await remote.echo(PAYLOAD), PAYLOAD);
  return promiseVariant('comlink', (x) => remote.echo(x), async () => {
    await worker.terminate();
  });
}

// ---------------------------------------------------------------------------------------------
// Measurement

const windowLabel = (w: number | 'burst', calls: number): string => (w === 'burst' ? `burst ${calls}` : `window ${w}`);

async function run(ctx: ScopeContext): Promise<ScopeResult> {
  const plan = ctx.quick ? QUICK : FULL;
  const variants: Variant[] = [];
  try {
    variants.push(inProcessVariant(), await bareVariant(), await supervisorVariant(), await comlinkVariant());
    const inProcess = variants[0]!;
    const workerVariants = variants.slice(1);
    ctx.log(`variants ready: ${variants.map((v) => v.name).join(', ')}`);

    // Warm-up: let V8 optimise every path (both drivers, every window) before a clock runs.
    for (const v of variants) {
      await v.sequential(plan.warmupCalls);
      if (v !== inProcess) for (const p of plan.pipelined) await v.pipelined(Math.min(p.calls, plan.warmupCalls), p.window === 'burst' ? p.calls : p.window);
    }

    const sequential = new Map<string, SequentialRun[]>(variants.map((v) => [v.name, []]));
    const pipelined = new Map<string, number[]>(); // `${variant}|${label}` -> calls/s per round
    for (let round = 0; round < plan.rounds; round++) {
      // Rotate the order each round: no variant always runs right after another one's garbage.
      // No forced GC between runs: a full GC shrinks the young generation, and the next run then
      // pays for regrowing it (measured: it halved sup.call's window-256 throughput).
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      for (const v of order) {
        sequential.get(v.name)!.push(await v.sequential(plan.sequentialCallsPerRound));
      }
      for (const p of plan.pipelined) {
        const label = windowLabel(p.window, p.calls);
        for (const v of order) {
          if (v === inProcess) continue;
          const wallMs = await v.pipelined(p.calls, p.window === 'burst' ? p.calls : p.window);
          const key = `${v.name}|${label}`;
          pipelined.set(key, [...(pipelined.get(key) ?? []), p.calls / (wallMs / 1000)]);
        }
      }
      ctx.log(`round ${round + 1}/${plan.rounds} done`);
    }

    const seqStats = new Map<string, LatencyStats>();
    for (const [name, runs] of sequential) {
      const all = new Float64Array(runs.reduce((n, r) => n + r.samples.length, 0));
      let offset = 0;
      for (const r of runs) {
        all.set(r.samples, offset);
        offset += r.samples.length;
      }
      seqStats.set(name, latencyStats(all, runs.reduce((t, r) => t + r.wallMs, 0)));
    }
    const pipeStats = new Map<string, ThroughputStats>();
    for (const [key, rounds] of pipelined) pipeStats.set(key, throughputStats(rounds));

    return report(plan, seqStats, pipeStats, workerVariants.map((v) => v.name));
  } finally {
    for (const v of variants) await v.close().catch((err: unknown) => ctx.log(`closing ${v.name} failed: ${String(err)}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function report(plan: Plan, seq: Map<string, LatencyStats>, pipe: Map<string, ThroughputStats>, workerVariants: string[]): ScopeResult {
  const bare = seq.get('bare port')!;
  const sup = seq.get('sup.call')!;
  const sequentialTable: Table = {
    title: `sequential: one call at a time (${fmtInt(plan.rounds * plan.sequentialCallsPerRound)} calls per variant, ${plan.rounds} rounds)`,
    columns: ['variant', 'p50 us', 'p90 us', 'p99 us', 'mean us', 'calls/s', 'p50 vs bare', 'mean vs bare'],
    rows: [...seq].map(([name, s]) => [
      name, s.p50Us.toFixed(2), s.p90Us.toFixed(2), s.p99Us.toFixed(2), s.meanUs.toFixed(2), fmtInt(s.callsPerSec),
      ratio(s.p50Us, bare.p50Us), ratio(s.meanUs, bare.meanUs),
    ]),
    note: 'bare port: a callback-driven postMessage echo (no promise, no id table): the floor for any worker RPC.',
  };

  const labels = plan.pipelined.map((p) => windowLabel(p.window, p.calls));
  const get = (variant: string, label: string): ThroughputStats => pipe.get(`${variant}|${label}`)!;
  const pipelinedTable: Table = {
    title: `pipelined: calls/s, median of ${plan.rounds} rounds (min-max)`,
    columns: ['outstanding', ...workerVariants, 'sup.call / bare', 'comlink / bare', 'sup.call / comlink'],
    rows: labels.map((label) => [
      label,
      ...workerVariants.map((v) => {
        const s = get(v, label);
        return `${fmtInt(s.callsPerSec)} (${fmtInt(s.minCallsPerSec)}-${fmtInt(s.maxCallsPerSec)})`;
      }),
      pct(get('sup.call', label).callsPerSec, get('bare port', label).callsPerSec),
      pct(get('comlink', label).callsPerSec, get('bare port', label).callsPerSec),
      ratio(get('sup.call', label).callsPerSec, get('comlink', label).callsPerSec),
    ]),
    note: 'window W: W calls outstanding, a new one issued as each settles; burst N: N calls issued in one tick.\n' +
      'The bare port posts one message per call; sup.call coalesces the calls (and replies) of a tick into one message.',
  };

  const targets: TargetCheck[] = [
    {
      name: 'sequential sup.call latency',
      target: `p50 <= ${SEQUENTIAL_TARGET.toFixed(2)}x bare port`,
      measured: `${ratio(sup.p50Us, bare.p50Us)} (${sup.p50Us.toFixed(2)} us vs ${bare.p50Us.toFixed(2)} us; mean ${ratio(sup.meanUs, bare.meanUs)})`,
      pass: sup.p50Us <= SEQUENTIAL_TARGET * bare.p50Us,
    },
    ...plan.pipelined.filter((p) => p.window !== 1).map((p): TargetCheck => {
      const label = windowLabel(p.window, p.calls);
      const s = get('sup.call', label).callsPerSec;
      const b = get('bare port', label).callsPerSec;
      return {
        name: `pipelined sup.call, ${label}`,
        target: `>= ${PIPELINED_TARGET * 100}% of bare port calls/s`,
        measured: `${pct(s, b)} (${fmtInt(s)} vs ${fmtInt(b)} calls/s)`,
        pass: s >= PIPELINED_TARGET * b,
      };
    }),
  ];

  return {
    data: {
      payload: PAYLOAD,
      plan,
      sequential: Object.fromEntries(seq),
      pipelined: Object.fromEntries(labels.map((label) => [label, Object.fromEntries(workerVariants.map((v) => [v, get(v, label)]))])),
    },
    tables: [sequentialTable, pipelinedTable],
    targets,
  };
}

function pct(x: number, baseline: number): string {
  return `${Math.round((x / baseline) * 100)}%`;
}

export default {
  description: 'command call latency and throughput: sup.call vs bare MessagePort vs in-process vs comlink',
  run,
} satisfies BenchScope;
